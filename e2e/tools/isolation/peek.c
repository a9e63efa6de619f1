/* Reads one byte at each address it is given and reports, per address, whether the read
 * worked or raised SIGSEGV. Used to show that a Dune process cannot read its monitor's
 * memory (dune-run's image and data live in the same host process).
 *
 *   peek ADDR...        the addresses (hex) on the command line
 *   peek -f FILE        waits for FILE (one hex address a line, then a line "end"), so the
 *                       test can pass addresses it read from the host's /proc/PID/maps
 *                                   of this very process
 *   peek -maps          the start of every mapping in /proc/self/maps that names dune-run
 *
 * Every run first prints addresses of its own memory ("own data|stack|heap ADDR", so the
 * test can tell the program's mappings from the monitor's) and reads its own global, the
 * control that a read which should work does. Then, per address: "ADDR readable" or
 * "ADDR SIGSEGV".
 * Exit status: 0 when every given address faulted and self was readable, 1 otherwise,
 * 2 on usage errors. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile char own_byte = 42;
static sigjmp_buf fault_jump;

static void on_segv(int sig)
{
	siglongjmp(fault_jump, sig);
}

/* 1: the byte at addr could be read. */
static int readable(unsigned long addr)
{
	if (sigsetjmp(fault_jump, 1))
		return 0;
	volatile char c = *(volatile char *)addr;
	(void)c;
	return 1;
}

static int probe(unsigned long addr, int *leaks)
{
	int r = readable(addr);
	printf("%#lx %s\n", addr, r ? "readable" : "SIGSEGV");
	fflush(stdout);
	*leaks += r;
	return r;
}

/* Waits until FILE holds a line "end" (the test writes it in one go), then probes each line. */
static int from_file(const char *path, int *leaks, int *count)
{
	char line[128];
	for (int tries = 0; tries < 600; tries++) {
		FILE *f = fopen(path, "r");
		int complete = 0;
		if (f) {
			while (fgets(line, sizeof line, f))
				if (!strcmp(line, "end\n"))
					complete = 1;
			if (complete) {
				rewind(f);
				while (fgets(line, sizeof line, f) && strcmp(line, "end\n")) {
					probe(strtoul(line, NULL, 16), leaks);
					(*count)++;
				}
				fclose(f);
				return 0;
			}
			fclose(f);
		}
		usleep(100000);
	}
	fprintf(stderr, "peek: %s never completed\n", path);
	return -1;
}

static void from_own_maps(int *leaks, int *count)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	while (f && fgets(line, sizeof line, f)) {
		unsigned long lo;
		if (strstr(line, "dune-run") && sscanf(line, "%lx-", &lo) == 1) {
			probe(lo, leaks);
			(*count)++;
		}
	}
	if (f)
		fclose(f);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_segv, .sa_flags = SA_NODEFER };
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	if (argc < 2)
		return 2;
	volatile char on_stack = 1;
	char *on_heap = malloc(64);
	printf("own data %p\nown stack %p\nown heap %p\n", (void *)&own_byte, (void *)&on_stack, (void *)on_heap);
	printf("self %s\n", readable((unsigned long)&own_byte) ? "readable" : "SIGSEGV");
	fflush(stdout);
	if (!readable((unsigned long)&own_byte))
		return 1;
	int leaks = 0, count = 0;
	if (!strcmp(argv[1], "-f") && argc == 3) {
		if (from_file(argv[2], &leaks, &count))
			return 2;
	} else if (!strcmp(argv[1], "-maps")) {
		from_own_maps(&leaks, &count);
	} else {
		for (int i = 1; i < argc; i++, count++)
			probe(strtoul(argv[i], NULL, 16), &leaks);
	}
	printf("probed %d, readable %d\n", count, leaks);
	return leaks || !count ? 1 : 0;
}
