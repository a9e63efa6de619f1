/* Tries a privileged instruction that would take over the machine's control structures:
 *   privileged lidt       load an interrupt descriptor table of its own
 *   privileged cr3        load a page-table root (mov %rax,%cr3) of its own
 * Without a second argument the fault ends the process (its exit status shows the signal).
 * With "catch" the signal is caught and reported, and the program then asks for a
 * mkdir(2) of PATH (third argument), to show that system calls still go through the
 * monitor afterwards (a policy denying mkdir answers EPERM). */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static sigjmp_buf fault_jump;

static void on_fault(int sig)
{
	siglongjmp(fault_jump, sig);
}

/* An IDT descriptor that points at this program's own (empty) table. */
static struct __attribute__((packed)) {
	uint16_t limit;
	uint64_t base;
} own_idt;
static uint64_t own_table[512] __attribute__((aligned(4096)));

static void attempt(const char *what)
{
	if (!strcmp(what, "lidt")) {
		own_idt.limit = sizeof own_table - 1;
		own_idt.base = (uint64_t)own_table;
		__asm__ volatile("lidt %0" ::"m"(own_idt));
	} else {
		uint64_t root = (uint64_t)own_table;
		__asm__ volatile("mov %0, %%cr3" ::"r"(root) : "memory");
	}
}

int main(int argc, char **argv)
{
	if (argc < 2 || (strcmp(argv[1], "lidt") && strcmp(argv[1], "cr3")))
		return 2;
	printf("%s: attempting\n", argv[1]);
	fflush(stdout);
	if (argc >= 4 && !strcmp(argv[2], "catch")) {
		struct sigaction sa = { .sa_handler = on_fault };
		sigaction(SIGSEGV, &sa, NULL);
		sigaction(SIGILL, &sa, NULL);
		int sig = sigsetjmp(fault_jump, 1);
		if (!sig) {
			attempt(argv[1]);
			printf("%s: executed!\n", argv[1]);
			return 1;
		}
		printf("%s: %s\n", argv[1], sig == SIGSEGV ? "SIGSEGV" : sig == SIGILL ? "SIGILL" : "other signal");
		int rc = mkdir(argv[3], 0755);
		printf("mkdir after %s: %s\n", argv[1], rc ? strerror(errno) : "created");
		return 0;
	}
	attempt(argv[1]);
	printf("%s: executed!\n", argv[1]);
	return 1;
}
