/* What /proc shows of a process (ps, pgrep -f, docker top read it).
 *   identity show ARGS...   prints /proc/self/cmdline (NUL as '|'), whether environ matches
 *                           the environment exactly, and comm
 *   identity title          rewrites its argv in place as postgres and nginx do (one title
 *                           padded with NULs, then one running on into the environment
 *                           area) and prints cmdline after each
 *   identity exec ARGS...   execs "identity show ARGS..." */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static size_t slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	size_t n = 0;
	ssize_t r;
	while (n < len && (r = read(fd, buf + n, len - n)) > 0)
		n += (size_t)r;
	close(fd);
	return n;
}

static void print_cmdline(const char *label)
{
	char buf[8192];
	size_t n = slurp("/proc/self/cmdline", buf, sizeof buf);
	printf("%s %zu ", label, n);
	for (size_t i = 0; i < n; i++)
		putchar(buf[i] ? buf[i] : '|');
	putchar('\n');
}

static int environ_matches(void)
{
	char want[8192], got[8192];
	size_t w = 0;
	for (char **e = environ; *e; e++) {
		size_t l = strlen(*e) + 1;
		if (w + l > sizeof want)
			return 0;
		memcpy(want + w, *e, l);
		w += l;
	}
	size_t g = slurp("/proc/self/environ", got, sizeof got);
	return g == w && !memcmp(want, got, w);
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "exec")) {
		argv[1] = "show";
		execv("/proc/self/exe", argv);
		perror("execv");
		return 9;
	}
	if (argc >= 2 && !strcmp(argv[1], "show")) {
		char comm[32] = "";
		size_t n = slurp("/proc/self/comm", comm, sizeof comm - 1);
		comm[n] = '\0';
		print_cmdline("cmdline");
		printf("environ %s\ncomm %s", environ_matches() ? "exact" : "differs", comm);
		return 0;
	}
	/* title: the argument area is argv[0] to the end of the last argument. */
	char *start = argv[0], *end = argv[argc - 1] + strlen(argv[argc - 1]) + 1;
	size_t room = (size_t)(end - start);
	memset(start, 0, room);
	snprintf(start, room, "identity: worker");
	print_cmdline("padded");
	/* Over the end of the arguments into the environment strings (which follow them). */
	char *env0 = environ[0];
	if (env0 != end) {
		printf("environment does not follow the arguments\n");
		return 1;
	}
	size_t envlen = strlen(env0);
	memset(start, 'x', room + envlen / 2);
	start[room + envlen / 2] = '\0';
	memcpy(start, "long:", 5);
	print_cmdline("long");
	return 0;
}
