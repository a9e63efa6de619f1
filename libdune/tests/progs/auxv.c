/* /proc/self/auxv against getauxval: the kernel's file and what the program was started with
 * agree (under Dune: the program's vector, not the monitor's). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/auxv.h>
#include <unistd.h>

int main(void)
{
	uint64_t v[128];
	int fd = open("/proc/self/auxv", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, v, sizeof v);
	int seen = 0, same = 0;
	for (ssize_t i = 0; i < n / 16 && v[2 * i] != AT_NULL; i++) {
		if (v[2 * i] == AT_ENTRY || v[2 * i] == AT_PHDR || v[2 * i] == AT_BASE || v[2 * i] == AT_RANDOM) {
			seen++;
			same += getauxval(v[2 * i]) == v[2 * i + 1];
		}
	}
	printf("auxv entries checked: %d, equal to getauxval: %d, ends with AT_NULL: %s\n", seen, same,
	       n >= 16 && v[n / 8 - 2] == AT_NULL ? "yes" : "no");
	return 0;
}
