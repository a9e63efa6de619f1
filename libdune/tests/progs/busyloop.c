/* Runs until killed, sleeping in libc between short bursts of work (the gdb attach test):
 * the bursts are a few thousand iterations and the sleeps 20 ms, so an attach almost always
 * finds it in usleep even on a loaded host (a 2^20-iteration burst was caught once). */
#include <unistd.h>

static volatile unsigned long n;

static void work(void)
{
	for (;;)
		if (!(++n & 0xfff))
			usleep(20000);
}

int main(void)
{
	work();
	return 0;
}
