/* The pod sandbox's process (the "pause" container of the CRI tests): it holds the pod's
 * namespaces open, does nothing, reaps any child that is reparented to it (it is PID 1 of
 * the pod's PID namespace), and exits 0 on SIGTERM or SIGINT so that a graceful stop of the
 * sandbox is visible as a clean exit. Built static: the image has no libc. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Never runs while the signals are blocked; it only makes their disposition "caught", which
 * the kernel honours for a PID 1 (a default disposition there means "ignored"). */
static void note_signal(int sig)
{
	(void)sig;
}

static void reap_children(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

int main(void)
{
	sigset_t wanted;
	struct sigaction caught;
	int sig;

	/* Take the signals synchronously: no handler runs, so nothing is racy. */
	sigemptyset(&wanted);
	sigaddset(&wanted, SIGTERM);
	sigaddset(&wanted, SIGINT);
	sigaddset(&wanted, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &wanted, NULL) != 0) {
		fprintf(stderr, "pause: sigprocmask: %s\n", strerror(errno));
		return 1;
	}
	memset(&caught, 0, sizeof(caught));
	caught.sa_handler = note_signal;
	sigemptyset(&caught.sa_mask);
	if (sigaction(SIGTERM, &caught, NULL) != 0 || sigaction(SIGINT, &caught, NULL) != 0 ||
	    sigaction(SIGCHLD, &caught, NULL) != 0) {
		fprintf(stderr, "pause: sigaction: %s\n", strerror(errno));
		return 1;
	}
	for (;;) {
		if (sigwait(&wanted, &sig) != 0)
			continue;
		if (sig == SIGCHLD) {
			reap_children();
			continue;
		}
		/* TERM or INT: the sandbox is being stopped. */
		reap_children();
		return 0;
	}
}
