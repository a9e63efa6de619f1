/* A program for the gdb test (built static, not PIE, with debug information). */
#include <stdio.h>

static int square(int x) { return x * x; }

int main(void)
{
	int v = square(7);
	printf("square: %d\n", v);
	return 0;
}
