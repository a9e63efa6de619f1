/* fork, exec and wait chains with exact statuses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "child"))
		return atoi(argv[2]);
	if (argc > 1 && !strcmp(argv[1], "segv")) {
		volatile int *bad = (volatile int *)8;
		__asm__("" : "+r"(bad));
		*bad = 0;
		return 0;
	}
	int fails = 0;
	for (int code = 0; code < 4; code++) {
		pid_t pid = fork();
		if (pid == 0) {
			char c[8];
			snprintf(c, sizeof c, "%d", code * 10);
			execl("/proc/self/exe", "forkexec", "child", c, (char *)NULL);
			_exit(99);
		}
		int st;
		waitpid(pid, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != code * 10) {
			printf("child %d: status %#x\n", code, st);
			fails++;
		}
	}
	pid_t pid = fork();
	if (pid == 0) {
		execl(argv[0], argv[0], "segv", (char *)NULL);
		_exit(98);
	}
	int st;
	waitpid(pid, &st, 0);
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSEGV) {
		printf("segv child: status %#x\n", st);
		fails++;
	}
	/* A fork whose child just returns from main. */
	int pfd[2];
	if (pipe(pfd))
		return 1;
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		if (write(pfd[1], "x", 1) != 1)
			_exit(1);
		exit(5);
	}
	close(pfd[1]);
	char c = 0;
	if (read(pfd[0], &c, 1) != 1 || c != 'x')
		fails++;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 5)
		fails++;
	/* exec of something missing reports ENOENT to the caller. */
	if (execl("/nonexistent/prog", "x", (char *)NULL) == 0 || 0)
		fails++;
	printf("forkexec %s\n", fails ? "FAILED" : "ok");
	return fails;
}
