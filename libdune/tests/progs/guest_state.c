/* Guest state no ring-3 program can have, asked for by the program: each
 * mode prints what it got (the same natively and under dune-run) or dies
 * by the signal, as Linux does.
 *   sigreturn ADDR [kill]  a signal frame whose RIP is ADDR, restored by rt_sigreturn
 *   syscall-jump ADDR      jump to the syscall entry address ADDR with RCX non-canonical
 *   handler ADDR           a signal handler at ADDR */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

static sigjmp_buf jb;
static uint64_t forged_rip;
static volatile int segv_code;
static volatile uint64_t segv_addr, segv_rip;

static void on_segv(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	(void)sig;
	segv_code = si->si_code;
	segv_addr = (uint64_t)si->si_addr;
	segv_rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	siglongjmp(jb, 1);
}

/* Returning from here restores the edited frame through rt_sigreturn. */
static void on_usr1(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	(void)sig, (void)si;
	uc->uc_mcontext.gregs[REG_RIP] = (greg_t)forged_rip;
}

static void catch_segv(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
}

static void report(const char *what)
{
	printf("%s: SIGSEGV si_code %d si_addr %#lx rip %#lx\n", what, segv_code, (unsigned long)segv_addr,
	       (unsigned long)segv_rip);
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	const char *m = argv[1];
	uint64_t addr = strtoull(argv[2], NULL, 0);
	setvbuf(stdout, NULL, _IONBF, 0);
	if (!(argc > 3 && !strcmp(argv[3], "kill")))
		catch_segv();
	if (!strcmp(m, "sigreturn")) {
		forged_rip = addr;
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_sigaction = on_usr1;
		sa.sa_flags = SA_SIGINFO;
		sigaction(SIGUSR1, &sa, NULL);
		if (!sigsetjmp(jb, 1)) {
			raise(SIGUSR1);
			printf("sigreturn to %#lx returned normally!\n", (unsigned long)addr);
			return 1;
		}
		report("sigreturn");
		return 0;
	}
	if (!strcmp(m, "syscall-jump")) {
		if (!sigsetjmp(jb, 1)) {
			__asm__ volatile("mov %0, %%rcx\n\t"
					 "mov $39, %%eax\n\t"
					 "jmp *%1"
					 :
					 : "r"(0xdead000000000000ull), "r"(addr)
					 : "rcx", "rax", "memory");
			return 1;
		}
		/* Natively the entry address is kernel memory: a fetch fault there. */
		printf("syscall-jump: SIGSEGV si_addr %#lx rip %#lx\n", (unsigned long)segv_addr, (unsigned long)segv_rip);
		return 0;
	}
	if (!strcmp(m, "handler")) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = (void (*)(int))addr;
		sigaction(SIGUSR1, &sa, NULL);
		if (!sigsetjmp(jb, 1)) {
			raise(SIGUSR1);
			printf("handler at %#lx returned!\n", (unsigned long)addr);
			return 1;
		}
		report("handler");
		return 0;
	}
	return 2;
}
