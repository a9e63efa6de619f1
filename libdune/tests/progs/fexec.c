/* fexecve (execveat with AT_EMPTY_PATH on a close-on-exec fd) and execve of
 * a relative name without a slash (no PATH search). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	int st, fails = 0;
	if (fork() == 0) {
		int fd = open("/bin/busybox", O_RDONLY | O_CLOEXEC);
		char *a[] = { "echo", "fexecve-ok", NULL }, *e[] = { NULL };
		fexecve(fd, a, e);
		perror("fexecve");
		_exit(9);
	}
	wait(&st);
	fails += !WIFEXITED(st) || WEXITSTATUS(st);
	if (fork() == 0) {
		if (chdir("/bin"))
			_exit(8);
		char *a[] = { "echo", "relative-ok", NULL }, *e[] = { "PATH=/nonexistent", NULL };
		execve("busybox", a, e);
		perror("execve busybox");
		_exit(9);
	}
	wait(&st);
	fails += !WIFEXITED(st) || WEXITSTATUS(st);
	return fails;
}
