/* The self-pipe pattern (gdb's SIGCHLD, many event loops): a handler writes a byte, the main
 * thread waits in poll() for it. Natively it cannot hang: a signal before poll has already
 * written the byte. Under Dune the signal may reach the thread while its monitor is between
 * the guest's poll and the host's; if the monitor then made the host call, the thread would
 * sleep with the signal recorded and its handler not run. Another thread sends SIGUSR1 at
 * varying moments around each poll; a lost one hangs, and the alarm ends the program. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile sig_atomic_t handled;
static sem_t go;
static pid_t reader;
static int self_pipe[2];

static void on_usr1(int sig)
{
	(void)sig;
	handled++;
	if (write(self_pipe[1], "s", 1) != 1)
		_exit(3);
}

static void *sender(void *arg)
{
	int rounds = *(int *)arg; /* both phases */
	for (int i = 0; i < rounds; i++) {
		while (sem_wait(&go) < 0 && errno == EINTR)
			;
		for (volatile int k = 0; k < (i % 97) * 1000; k++)
			; /* from at once to about a hundred microseconds later */
		syscall(SYS_tgkill, getpid(), reader, SIGUSR1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 2000;
	int total = 2 * rounds;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGUSR1, &sa, NULL) || pipe(self_pipe) || sem_init(&go, 0, 0))
		return 2;
	reader = (pid_t)syscall(SYS_gettid);
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_t th;
	pthread_sigmask(SIG_BLOCK, &usr1, NULL); /* the sender never takes it */
	if (pthread_create(&th, NULL, sender, &total))
		return 2;
	pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
	alarm(100);
	for (int i = 0; i < rounds; i++) {
		char c;
		sem_post(&go);
		struct pollfd pf = { .fd = self_pipe[0], .events = POLLIN };
		int n;
		while ((n = poll(&pf, 1, -1)) < 0 && errno == EINTR)
			;
		if (n != 1 || read(self_pipe[0], &c, 1) != 1)
			return fprintf(stderr, "round %d: poll gave %d (%s)\n", i, n, strerror(errno)), 1;
	}
	printf("%d signals seen by %d polls\n", (int)handled, rounds);
	/* Without SA_RESTART a call the signal came before is still made after the handler: a
	 * write to /dev/null never fails with EINTR, natively or here. */
	sa.sa_flags = 0;
	int null = open("/dev/null", O_WRONLY);
	if (sigaction(SIGUSR1, &sa, NULL) || null < 0)
		return 2;
	for (int i = 0; i < rounds; i++) {
		char c;
		sem_post(&go);
		if (write(null, "w", 1) != 1)
			return fprintf(stderr, "round %d: write failed (%s)\n", i, strerror(errno)), 1;
		struct pollfd pf = { .fd = self_pipe[0], .events = POLLIN };
		int n;
		while ((n = poll(&pf, 1, -1)) < 0 && errno == EINTR)
			;
		if (n != 1 || read(self_pipe[0], &c, 1) != 1)
			return fprintf(stderr, "round %d: poll gave %d (%s)\n", i, n, strerror(errno)), 1;
	}
	pthread_join(th, NULL);
	printf("%d writes made, none interrupted\n", rounds);
	return handled == 2 * rounds ? 0 : 1;
}
