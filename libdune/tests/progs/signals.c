/* Signal handling under Dune: SIGSEGV recovery, sigaltstack, kill/raise,
 * alarm interrupting a blocking read, SA_RESTART. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static sigjmp_buf jb;
static volatile sig_atomic_t got;
static volatile void *fault_addr;
static volatile int on_alt;
static char altstack[65536];

static void segv(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	char probe;
	got = sig;
	fault_addr = si->si_addr;
	on_alt = &probe >= altstack && &probe < altstack + sizeof altstack;
	siglongjmp(jb, 1);
}

static void usr1(int sig) { got = sig; }

int main(void)
{
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack };
	if (sigaltstack(&ss, NULL)) {
		perror("sigaltstack");
		return 1;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = segv;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigaction(SIGSEGV, &sa, NULL);
	int fails = 0;
	for (int round = 0; round < 3; round++) {
		volatile int *bad = (volatile int *)0x10;
		__asm__("" : "+r"(bad)); /* keep the compiler from reasoning about it */
		if (!sigsetjmp(jb, 1))
			*bad = 1;
		if (got != SIGSEGV || fault_addr != (void *)0x10 || !on_alt) {
			printf("round %d: segv not recovered (sig %d addr %p alt %d)\n", round, got, fault_addr, on_alt);
			fails++;
		}
		got = 0;
	}
	printf("segv recovered on altstack\n");

	signal(SIGUSR1, usr1);
	raise(SIGUSR1);
	if (got != SIGUSR1) {
		printf("raise: handler not run\n");
		fails++;
	}
	got = 0;
	kill(getpid(), SIGUSR1);
	if (got != SIGUSR1) {
		printf("kill: handler not run\n");
		fails++;
	}
	printf("usr1 handled\n");

	/* alarm interrupts a blocking read (no SA_RESTART: EINTR). */
	struct sigaction al;
	memset(&al, 0, sizeof al);
	al.sa_handler = usr1;
	sigaction(SIGALRM, &al, NULL);
	int p[2];
	if (pipe(p))
		return 1;
	alarm(1);
	char c;
	ssize_t n = read(p[0], &c, 1);
	if (n != -1 || errno != EINTR || got != SIGALRM) {
		printf("alarm: read returned %zd errno %d got %d\n", n, errno, got);
		fails++;
	} else {
		printf("alarm interrupted read\n");
	}
	/* Blocked signals wait until unblocked. */
	got = 0;
	sigset_t m, old;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	sigprocmask(SIG_BLOCK, &m, &old);
	raise(SIGUSR1);
	if (got) {
		printf("blocked signal delivered early\n");
		fails++;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (got != SIGUSR1) {
		printf("unblocked signal not delivered\n");
		fails++;
	} else {
		printf("mask respected\n");
	}
	return fails ? 1 : 0;
}
