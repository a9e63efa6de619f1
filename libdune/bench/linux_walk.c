/* Linux's counterpart of a page walk: one /proc/self/pagemap entry. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	char *p = mmap(NULL, 100 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	int fd = open("/proc/self/pagemap", O_RDONLY);
	struct timespec t0, t1;
	uint64_t e, acc = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < n; i++) {
		uint64_t va = (uint64_t)(p + (i % 100) * 4096);
		if (pread(fd, &e, 8, (off_t)(va / 4096 * 8)) == 8)
			acc += e >> 63;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("walk %.1f\n", ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / (double)n);
	return acc == 0;
}
