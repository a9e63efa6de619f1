/* Runs until killed, sleeping in libc between bursts of work (the gdb attach test). */
#include <unistd.h>

static volatile unsigned long n;

static void work(void)
{
	for (;;)
		if (!(++n & 0xfffff))
			usleep(1000);
}

int main(void)
{
	work();
	return 0;
}
