/* Time through the vDSO: agrees with the kernel's clock, needs no exits. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long ns(const struct timespec *t) { return t->tv_sec * 1000000000L + t->tv_nsec; }

int main(void)
{
	if (!getauxval(AT_SYSINFO_EHDR)) {
		printf("no vDSO\n");
		return 1;
	}
	int fails = 0;
	for (int i = 0; i < 100; i++) {
		struct timespec a, b, c;
		clock_gettime(CLOCK_MONOTONIC, &a);
		syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &b);
		clock_gettime(CLOCK_MONOTONIC, &c);
		if (ns(&a) > ns(&b) || ns(&b) > ns(&c)) {
			printf("vDSO and kernel clocks disagree: %ld %ld %ld\n", ns(&a), ns(&b), ns(&c));
			fails++;
			break;
		}
	}
	struct timespec r;
	clock_gettime(CLOCK_REALTIME, &r);
	if (labs(r.tv_sec - (long)syscall(SYS_time, NULL)) > 1) {
		printf("realtime off\n");
		fails++;
	}
	for (int i = 0; i < 10000; i++)
		clock_gettime(CLOCK_MONOTONIC, &r);
	printf("vdso %s\n", fails ? "FAILED" : "ok");
	return fails;
}
