/* Escape probes: each mode attacks the monitor the way a security review did
 * and prints one line. Exit 0: blocked; 1: the attack worked (and what it
 * achieved); 2: could not be set up (a test failure too).
 *
 * What the kernel writes into monitor memory cannot be seen from inside, so
 * those modes talk to a host-side runner (run_tests, root) on stdin/stdout:
 *   program: "watch ADDR LEN KIND [ARG]"... then "ready"
 *   runner:  snapshots ADDR..ADDR+LEN of /proc/PID/mem, answers "go"
 *   program: attacks, prints "attacked"
 *   runner:  reads again, answers "hit WHAT", "intact" or "setup WHY"
 * KIND: "marker TOKEN" (hit: more TOKENs than before), "change" (hit: bytes
 * differ), "u32 V" (setup: the word was not V before; hit: it changed).
 * Without a runner (stdin at EOF) only modes with their own evidence run. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <linux/futex.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define MIB (1ul << 20)
#define MON_STACK (256ul << 10) /* the monitor's thread stacks (proc.c new_thread) */

/* ---- reporting ---- */

static int report(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("%s: ", code == 0 ? "blocked" : code == 1 ? "ESCAPED" : "setup failed");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
	return code;
}

static int setup_failed(const char *what)
{
	return report(2, "%s: %s", what, strerror(errno));
}

/* Many hits go into one line: "a, b, c". */
static char hits[8192];
static int nhits;
static void add_hit(const char *fmt, ...)
{
	size_t n = strlen(hits);
	if (n > sizeof hits - 64)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (nhits++)
		n += (size_t)snprintf(hits + n, sizeof hits - n, "; ");
	vsnprintf(hits + n, sizeof hits - n, fmt, ap);
	va_end(ap);
}

/* ---- the host runner ---- */

static int line_in(char *buf, size_t cap)
{
	size_t n = 0;
	while (n + 1 < cap) {
		char c;
		ssize_t k = read(0, &c, 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		if (c == '\n') {
			buf[n] = 0;
			return 1;
		}
		buf[n++] = c;
	}
	buf[n] = 0;
	return n > 0;
}

static void watch(uint64_t addr, uint64_t len, const char *kind)
{
	printf("watch %#lx %lu %s\n", (unsigned long)addr, (unsigned long)len, kind);
}

/* After the watch lines: 1 when a runner answered "go", 0 without one. */
static int runner_go(void)
{
	char buf[64];
	printf("ready pid %d\n", getpid());
	fflush(stdout);
	return line_in(buf, sizeof buf) && !strcmp(buf, "go");
}

/* After the attack: the runner's verdict (1 hit, 0 intact, 2 setup) in *why. */
static int runner_verdict(char *why, size_t cap)
{
	printf("attacked\n");
	fflush(stdout);
	if (!line_in(why, cap))
		return snprintf(why, cap, "no verdict from the runner"), 2;
	if (!strncmp(why, "hit", 3))
		return 1;
	if (!strncmp(why, "intact", 6))
		return 0;
	return 2;
}

/* ---- the monitor as seen from inside ---- */

struct map {
	uint64_t lo, hi, off;
	char perms[8];
	char name[512];
};

static int read_maps(struct map *m, int max)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[1024];
	int n = 0;
	while (f && n < max && fgets(line, sizeof line, f)) {
		struct map *e = &m[n];
		int pos = 0;
		e->name[0] = 0;
		if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %n", &e->lo, &e->hi, e->perms, &e->off, &pos) < 4)
			continue;
		snprintf(e->name, sizeof e->name, "%s", line + pos);
		e->name[strcspn(e->name, "\n")] = 0;
		n++;
	}
	if (f)
		fclose(f);
	return n;
}

static struct map maps[4096];

static const struct map *map_at(uint64_t addr)
{
	int n = read_maps(maps, 4096);
	for (int i = 0; i < n; i++)
		if (addr >= maps[i].lo && addr < maps[i].hi)
			return &maps[i];
	return NULL;
}

/* The start of dune-run's image (its ELF header); may show as a memfd. */
static uint64_t monitor_base(void)
{
	int n = read_maps(maps, 4096);
	for (int i = 0; i < n; i++)
		if (strstr(maps[i].name, "dune-run") && maps[i].off == 0)
			return maps[i].lo;
	return 0;
}

static bool is_monitor_name(const char *s)
{
	return strstr(s, "kvm") || strstr(s, "dune-run") || strstr(s, "memfd:dune") || strstr(s, "dune-stats") ||
	       strstr(s, "dune-trace");
}

static int fd_link(int fd, char *buf, size_t cap)
{
	char p[64];
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(p, buf, cap - 1);
	buf[n > 0 ? n : 0] = 0;
	return n > 0 ? 0 : -1;
}

/* A descriptor the program may use (the monitor refuses fcntl on its own). */
static bool own_fd(int fd)
{
	char l[512];
	if (fcntl(fd, F_GETFD) < 0)
		return false;
	return fd_link(fd, l, sizeof l) < 0 || !is_monitor_name(l);
}

static int max_fd(void)
{
	struct rlimit r;
	if (getrlimit(RLIMIT_NOFILE, &r) < 0 || r.rlim_cur > 4096)
		return 4096;
	return (int)r.rlim_cur;
}

static int list_monitor_fds(int *out, int max, char names[][128])
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d)) && n < max) {
		char l[512];
		int fd = atoi(e->d_name);
		if (e->d_name[0] == '.' || fd == dirfd(d) || fd_link(fd, l, sizeof l) < 0 || !is_monitor_name(l))
			continue;
		snprintf(names[n], 128, "%.127s", l);
		out[n++] = fd;
	}
	if (d)
		closedir(d);
	return n;
}

static pid_t gettid_(void) { return (pid_t)syscall(SYS_gettid); }

static sigjmp_buf jb;
static void on_fault(int sig)
{
	siglongjmp(jb, sig);
}

static void catch_faults(void)
{
	struct sigaction sa = { .sa_handler = on_fault, .sa_flags = SA_NODEFER };
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

/* ---- 1. /proc/self/mem ---- */

static int mem_hit(const char *path, int dirfd, uint64_t addr)
{
	int fd = openat(dirfd, path, O_RDONLY);
	if (fd < 0)
		return 0;
	unsigned char b[64];
	ssize_t n = pread(fd, b, sizeof b, (off_t)addr);
	close(fd);
	if (n <= 0)
		return 0;
	add_hit("%s read %zd bytes at %#lx%s", path, n, (unsigned long)addr,
		!memcmp(b, "\x7f" "ELF", 4) ? " (the monitor's ELF header)" : "");
	return 1;
}

static int m_procmem_read(void)
{
	uint64_t base = monitor_base();
	if (!base)
		return report(2, "no dune-run mapping in /proc/self/maps");
	int fd = open("/proc/self/mem", O_RDONLY);
	if (fd < 0)
		return report(0, "open /proc/self/mem: %s", strerror(errno));
	unsigned char b[64];
	ssize_t n = pread(fd, b, sizeof b, (off_t)base);
	if (n < 0)
		return report(0, "pread of the monitor at %#lx: %s", (unsigned long)base, strerror(errno));
	return report(1, "read %zd bytes of monitor memory at %#lx%s", n, (unsigned long)base,
		      n >= 4 && !memcmp(b, "\x7f" "ELF", 4) ? ": the monitor's ELF header" : "");
}

static int m_procmem_write(void)
{
	uint64_t base = monitor_base();
	if (!base)
		return report(2, "no dune-run mapping in /proc/self/maps");
	/* e_ident's padding (bytes 9-15): written, it proves the write without
	 * breaking the monitor. */
	watch(base + 8, 8, "change");
	int runner = runner_go();
	int fd = open("/proc/self/mem", O_RDWR);
	int wrote = 0;
	char what[256] = "";
	if (fd < 0) {
		snprintf(what, sizeof what, "open /proc/self/mem O_RDWR: %s", strerror(errno));
	} else {
		unsigned char v[7] = "ESCAPE", back[7] = "";
		ssize_t n = pwrite(fd, v, sizeof v, (off_t)(base + 9));
		if (n <= 0) {
			snprintf(what, sizeof what, "pwrite at %#lx: %s", (unsigned long)base + 9, strerror(errno));
		} else {
			wrote = 1;
			ssize_t r = pread(fd, back, sizeof back, (off_t)(base + 9));
			snprintf(what, sizeof what, "pwrite of %zd bytes into the monitor's image at %#lx, read back: %s", n,
				 (unsigned long)base + 9, r == (ssize_t)sizeof v && !memcmp(v, back, sizeof v) ? "patched" : "no read");
		}
		close(fd);
	}
	if (!runner)
		return report(wrote, "%s (no host runner)", what);
	char why[256];
	int v = runner_verdict(why, sizeof why);
	if (v == 2)
		return report(2, "%s; runner: %s", what, why);
	return report(wrote || v, "%s; host sees the monitor's bytes: %s", what, why);
}

static int m_procmem_paths(void)
{
	uint64_t base = monitor_base();
	if (!base)
		return report(2, "no dune-run mapping in /proc/self/maps");
	pid_t child = fork();
	if (child < 0)
		return setup_failed("fork");
	if (child == 0) {
		alarm(30);
		for (;;)
			pause();
	}
	char p[32][96];
	int n = 0;
	snprintf(p[n++], 96, "/proc/self/mem");
	snprintf(p[n++], 96, "//proc/self/mem");
	snprintf(p[n++], 96, "/proc/./self/mem");
	snprintf(p[n++], 96, "/proc/self/../self/mem");
	snprintf(p[n++], 96, "/proc/%d/mem", getpid());
	snprintf(p[n++], 96, "/proc/thread-self/mem");
	snprintf(p[n++], 96, "/proc/self/task/%d/mem", gettid_());
	snprintf(p[n++], 96, "/proc/%d/task/%d/mem", getpid(), gettid_());
	snprintf(p[n++], 96, "/dev/fd/../mem");
	snprintf(p[n++], 96, "/proc/%d/mem", child); /* another Dune process, same layout after fork */
	snprintf(p[n++], 96, "/proc/%d/task/%d/mem", child, child);
	const char *link = "/tmp/dune-escape-mem";
	unlink(link);
	if (symlink("/proc/self/mem", link) == 0)
		snprintf(p[n++], 96, "%s", link);
	for (int i = 0; i < n; i++)
		mem_hit(p[i], AT_FDCWD, base);
	/* Relative to a /proc directory descriptor. */
	char rel[96];
	int proc = open("/proc", O_RDONLY | O_DIRECTORY), self = open("/proc/self", O_RDONLY | O_DIRECTORY),
	    selfp = open("/proc/self", O_PATH | O_DIRECTORY);
	mem_hit("self/mem", proc, base);
	snprintf(rel, sizeof rel, "%d/mem", child);
	mem_hit(rel, proc, base);
	mem_hit("mem", self, base);
	mem_hit("mem", selfp, base);
	unlink(link);
	kill(child, SIGKILL);
	if (nhits)
		return report(1, "%d of %d paths read monitor memory: %s", nhits, n + 4, hits);
	return report(0, "none of %d /proc/*/mem paths reads monitor memory", n + 4);
}

/* ---- 2. monitor descriptors over a socket ---- */

static int send_fd(int sock, int fd)
{
	char c = 'x';
	struct iovec iov = { &c, 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	memset(&u, 0, sizeof u);
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof fd);
	return sendmsg(sock, &mh, MSG_DONTWAIT) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char c;
	struct iovec iov = { &c, 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
	if (recvmsg(sock, &mh, MSG_DONTWAIT) != 1)
		return -1;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			int fd;
			memcpy(&fd, CMSG_DATA(cm), sizeof fd);
			return fd;
		}
	return -1;
}

static int m_scm_rights(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return setup_failed("socketpair");
	int listed[64];
	char names[64][128];
	int nl = list_monitor_fds(listed, 64, names);
	/* Every descriptor the program did not open, listed or not. */
	int sent = 0, top = max_fd();
	for (int fd = 3; fd < top; fd++) {
		if (fd == sv[0] || fd == sv[1] || own_fd(fd) || send_fd(sv[0], fd) < 0)
			continue;
		sent++;
		int got = recv_fd(sv[1]);
		char l[512] = "?";
		if (got >= 0)
			fd_link(got, l, sizeof l);
		const char *mapped = "";
		if (got >= 0 && strstr(l, "kvm-vcpu")) {
			void *run = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, got, 0);
			mapped = run != MAP_FAILED ? " and mapped its run page" : "";
		}
		add_hit("monitor fd %d sent, received as %d (%s)%s", fd, got, l, mapped);
		if (got >= 0)
			close(got);
	}
	for (int i = 0; i < nl; i++)
		printf("listed monitor fd %d: %s\n", listed[i], names[i]);
	if (sent)
		return report(1, "%d monitor descriptors passed to the program: %s", sent, hits);
	return report(0, "no monitor descriptor (%d listed in /proc/self/fd) passes through SCM_RIGHTS", nl);
}

/* ---- 3. host files behind /proc/self/fd ---- */

struct ident {
	dev_t dev;
	ino_t ino;
	char what[128];
};
static struct ident targets[16];
static int ntargets;
static struct stat own_exe;

/* Arguments: host files of the monitor, as paths or "DEV:INO" (as stat -c %d:%i). */
static int parse_targets(int argc, char **argv)
{
	for (int i = 0; i < argc && ntargets < 16; i++) {
		struct ident *t = &targets[ntargets];
		unsigned long long dev, ino;
		struct stat st;
		if (sscanf(argv[i], "%llu:%llu", &dev, &ino) == 2) {
			t->dev = (dev_t)dev, t->ino = (ino_t)ino;
		} else if (stat(argv[i], &st) == 0) {
			t->dev = st.st_dev, t->ino = st.st_ino;
		} else {
			return -1;
		}
		snprintf(t->what, sizeof t->what, "%s", argv[i]);
		ntargets++;
	}
	return stat("/proc/self/exe", &own_exe);
}

/* What an opened descriptor is, if it is a file of the monitor. */
static const char *monitor_file(int fd)
{
	struct stat st;
	static char l[512];
	if (fstat(fd, &st) == 0)
		for (int i = 0; i < ntargets; i++)
			if (st.st_dev == targets[i].dev && st.st_ino == targets[i].ino)
				return targets[i].what;
	if (fd_link(fd, l, sizeof l) == 0 && is_monitor_name(l))
		return l;
	return NULL;
}

/* The ways of naming descriptor N of this process. */
static int fd_paths(int fd, char p[][96])
{
	int n = 0;
	snprintf(p[n++], 96, "/proc/self/fd/%d", fd);
	snprintf(p[n++], 96, "/dev/fd/%d", fd);
	snprintf(p[n++], 96, "/proc/thread-self/fd/%d", fd);
	snprintf(p[n++], 96, "/proc/self/task/%d/fd/%d", gettid_(), fd);
	snprintf(p[n++], 96, "/proc/%d/fd/%d", getpid(), fd);
	snprintf(p[n++], 96, "//proc/self/fd/%d", fd);
	snprintf(p[n++], 96, "/proc/./self/fd/%d", fd);
	return n;
}

/* The monitor's own mappings as /proc/self/map_files names. */
static int map_file_paths(char p[][96], int max)
{
	int nm = read_maps(maps, 4096), n = 0;
	for (int i = 0; i < nm && n < max; i++)
		if (is_monitor_name(maps[i].name))
			snprintf(p[n++], 96, "/proc/self/map_files/%lx-%lx", (unsigned long)maps[i].lo,
				 (unsigned long)maps[i].hi);
	return n;
}

static int exe_paths(char p[][96])
{
	int n = 0;
	snprintf(p[n++], 96, "/proc/self/exe");
	snprintf(p[n++], 96, "//proc/self/exe");
	snprintf(p[n++], 96, "/proc/./self/exe");
	snprintf(p[n++], 96, "/proc/self/../self/exe");
	snprintf(p[n++], 96, "/proc/thread-self/exe");
	snprintf(p[n++], 96, "/proc/self/task/%d/exe", gettid_());
	snprintf(p[n++], 96, "/proc/%d/exe", getpid());
	snprintf(p[n++], 96, "/dev/fd/../exe");
	return n;
}

static int try_open(int dirfd, const char *path, const char *shown)
{
	static const int modes[] = { O_RDONLY, O_RDWR, O_PATH };
	static const char *const names[] = { "O_RDONLY", "O_RDWR", "O_PATH" };
	int found = 0;
	for (int m = 0; m < 3; m++) {
		int fd = openat(dirfd, path, modes[m] | O_CLOEXEC);
		if (fd < 0)
			continue;
		const char *what = monitor_file(fd);
		if (what) {
			add_hit("%s %s -> %s", shown, names[m], what);
			found = 1;
		}
		close(fd);
	}
	return found;
}

static int m_procfd_reopen(int argc, char **argv)
{
	if (parse_targets(argc, argv) < 0)
		return setup_failed("host files on the command line");
	int top = max_fd(), tried = 0;
	int proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int self = open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char p[64][96], rel[96];
	for (int fd = 3; fd < top; fd++) {
		if (fd == proc || fd == self || own_fd(fd))
			continue;
		int n = fd_paths(fd, p);
		for (int i = 0; i < n; i++, tried++)
			try_open(AT_FDCWD, p[i], p[i]);
		snprintf(rel, sizeof rel, "self/fd/%d", fd);
		try_open(proc, rel, "openat(/proc) self/fd/N");
		snprintf(rel, sizeof rel, "fd/%d", fd);
		try_open(self, rel, "openat(/proc/self) fd/N");
	}
	int n = map_file_paths(p, 64);
	for (int i = 0; i < n; i++, tried++)
		try_open(AT_FDCWD, p[i], p[i]);
	/* The image: every name of it must open the program's own file. */
	n = exe_paths(p);
	for (int i = 0; i < n; i++, tried++) {
		int fd = open(p[i], O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (fd >= 0 && fstat(fd, &st) == 0 && (st.st_dev != own_exe.st_dev || st.st_ino != own_exe.st_ino)) {
			const char *what = monitor_file(fd);
			add_hit("%s opens %s, not the program", p[i], what ? what : "another file");
		}
		if (fd >= 0)
			close(fd);
	}
	try_open(proc, "self/exe", "openat(/proc) self/exe");
	if (nhits)
		return report(1, "%d opens reached a monitor file: %s", nhits, hits);
	return report(0, "no open of %d /proc fd, map_files and exe names yields a file of the monitor", tried);
}

/* Metadata calls through one name of a monitor file; hits are recorded. */
static void metadata_ops(int dirfd, const char *path, const char *shown)
{
	struct timespec ts[2] = { { 1, 0 }, { 1, 0 } };
	char link[64];
	if (fchmodat(dirfd, path, 01777, 0) == 0)
		add_hit("chmod %s", shown);
	if (fchownat(dirfd, path, 12345, 12345, 0) == 0)
		add_hit("chown %s", shown);
	if (dirfd == AT_FDCWD && truncate(path, 1l << 30) == 0)
		add_hit("truncate %s to 1 GiB", shown);
	if (utimensat(dirfd, path, ts, 0) == 0)
		add_hit("utimensat %s", shown);
	if (dirfd == AT_FDCWD && setxattr(path, "user.dune-escape", "x", 1, 0) == 0)
		add_hit("setxattr %s", shown);
	snprintf(link, sizeof link, "/tmp/dune-escape-link.%d", getpid());
	if (linkat(dirfd, path, AT_FDCWD, link, AT_SYMLINK_FOLLOW) == 0) {
		add_hit("linkat %s -> %s", shown, link);
		unlink(link);
	}
}

static int m_procfd_metadata(void)
{
	if (stat("/proc/self/exe", &own_exe) < 0)
		return setup_failed("stat /proc/self/exe");
	int top = max_fd();
	int proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char p[64][96], rel[96];
	for (int fd = 3; fd < top; fd++) {
		if (fd == proc || own_fd(fd))
			continue;
		/* Not the program's: whatever this names is the monitor's. */
		int n = fd_paths(fd, p);
		for (int i = 0; i < n; i++)
			metadata_ops(AT_FDCWD, p[i], p[i]);
		snprintf(rel, sizeof rel, "self/fd/%d", fd);
		metadata_ops(proc, rel, "openat(/proc) self/fd/N");
	}
	int n = map_file_paths(p, 64);
	for (int i = 0; i < n; i++)
		metadata_ops(AT_FDCWD, p[i], p[i]);
	/* Names of the image that lead somewhere else than the program's file. */
	n = exe_paths(p);
	for (int i = 0; i < n; i++) {
		struct stat st;
		if (stat(p[i], &st) == 0 && (st.st_dev != own_exe.st_dev || st.st_ino != own_exe.st_ino))
			metadata_ops(AT_FDCWD, p[i], p[i]);
	}
	if (nhits)
		return report(1, "%d metadata changes through monitor descriptors: %s", nhits, hits);
	return report(0, "chmod/chown/truncate/utimensat/setxattr/linkat fail on every monitor name");
}

/* ---- 4. use after release ---- */

static volatile int go_flag;
static int wake_pipe[2];

static void *idle_thread(void *arg)
{
	(void)arg;
	char c;
	while (read(wake_pipe[0], &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

/* A program thread blocked in the host: its monitor thread exists. */
static int start_idle(void)
{
	pthread_t t;
	return pthread_create(&t, NULL, idle_thread, NULL) ? -1 : pthread_detach(t);
}

/* Until task tid (a thread of this process or a vfork child) sits in host system call nr
 * (bounded). */
static void wait_blocked(pid_t tid, int nr)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/%d/syscall", tid);
	for (int i = 0; i < 200; i++) {
		int fd = open(path, O_RDONLY);
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
		if (fd >= 0)
			close(fd);
		buf[n > 0 ? n : 0] = 0;
		if (n > 0 && atoi(buf) == nr)
			return;
		usleep(10000);
	}
}

struct reader {
	int fd;
	struct iovec iov[2];
	ssize_t rc;
	int err;
	volatile pid_t tid;
};

static void *reader_thread(void *arg)
{
	struct reader *r = arg;
	r->tid = gettid_();
	r->rc = readv(r->fd, r->iov, 2);
	r->err = errno;
	return NULL;
}

/* The reader is a vfork child of this thread, on the same memory. */
static void *vfork_reader_thread(void *arg)
{
	struct reader *r = arg;
	pid_t pid = vfork();
	if (pid == 0) {
		r->tid = (pid_t)syscall(SYS_getpid); /* this thread waits until the child is done */
		r->rc = readv(r->fd, r->iov, 2);
		r->err = errno;
		_exit(0);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return NULL;
}

static const char UAF_MARK[] = "DUNE-UAF-MARK-";

static int m_uaf_read(const char *how)
{
	int pfd[2];
	if (pipe(pfd) || pipe(wake_pipe))
		return setup_failed("pipe");
	bool shm = !strcmp(how, "shmdt");
	int shmid = -1;
	char *m;
	if (shm) {
		shmid = shmget(IPC_PRIVATE, MIB, IPC_CREAT | 0600);
		m = shmid < 0 ? MAP_FAILED : shmat(shmid, NULL, 0);
		if (shmid >= 0)
			shmctl(shmid, IPC_RMID, NULL);
	} else {
		m = mmap(NULL, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	}
	if (m == MAP_FAILED || m == (void *)-1)
		return setup_failed("mapping the buffer");
	/* A monitor thread stack put in the released range ends at its top:
	 * the buffer is in the stack's unused middle. */
	uint64_t hi = (uint64_t)m + MIB, buf = hi - MON_STACK / 2;
	/* A second buffer below m: the reader's checked span covers all of m
	 * below the first one. Right below m when that page is free (it is when
	 * the kernel put m below everything else, as the VM's 6.1 does), else
	 * wherever the kernel puts a page. */
	char *low = mmap(m - 4096, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (low == MAP_FAILED)
		low = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (low == MAP_FAILED || (uint64_t)low > (uint64_t)m)
		return report(2, "no page below the buffer's mapping");
	struct reader r = { .fd = pfd[0], .iov = { { (void *)buf, 4096 }, { low, 16 } } };
	pthread_t t;
	bool vfork_reader = !strcmp(how, "munmap-by-parent");
	if (pthread_create(&t, NULL, vfork_reader ? vfork_reader_thread : reader_thread, &r))
		return setup_failed("pthread_create");
	while (!r.tid)
		usleep(1000);
	wait_blocked(r.tid, SYS_read);
	int rc = 0;
	/* Pages released inside the reader's span stay reserved (tombs): use up
	 * the monitor's room for them first, then release the buffer. */
	for (int i = 0; i < 70 && !strcmp(how, "munmap"); i++)
		rc |= munmap(m + 8192 * i, 4096);
	if (rc)
		return setup_failed("munmap");
	if (!strcmp(how, "munmap") || vfork_reader)
		rc = munmap(m, MIB);
	else if (!strcmp(how, "mremap-shrink"))
		rc = mremap(m, MIB, 4096, 0) == MAP_FAILED ? -1 : 0;
	else if (!strcmp(how, "mremap-move")) {
		char *dst = mmap(NULL, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		memcpy(m, "moved", 6);
		rc = dst == MAP_FAILED || mremap(m, MIB, MIB, MREMAP_MAYMOVE | MREMAP_FIXED, dst) == MAP_FAILED ? -1 : 0;
		/* The move itself must still work: the data is at the new place. */
		if (!rc && memcmp(dst, "moved", 6))
			return setup_failed("mremap-move lost the data");
	} else if (!strcmp(how, "mremap-grow")) {
		/* Growing where the next page is taken: the kernel must move it. */
		char *next = mmap(m + MIB, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (next == MAP_FAILED && errno != EEXIST) /* EEXIST: taken already */
			return setup_failed("mapping the page after the buffer");
		memcpy(m, "moved", 6);
		char *dst = mremap(m, MIB, 2 * MIB, MREMAP_MAYMOVE);
		rc = dst == MAP_FAILED ? -1 : 0;
		if (!rc && (dst == m || memcmp(dst, "moved", 6)))
			return setup_failed("mremap-grow did not move the data");
		if (!rc)
			dst[2 * MIB - 1] = 1; /* the grown part is the program's memory */
	} else if (!strcmp(how, "vfork-munmap")) {
		/* A vfork child shares the memory: its munmap releases the parent's buffer. */
		pid_t pid = vfork();
		if (pid == 0)
			_exit(munmap(m, MIB) ? 1 : 0);
		int st;
		rc = pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) ? -1 : 0;
	} else
		rc = shmdt(m);
	if (rc)
		return setup_failed(how);
	/* New program threads: the monitor maps stacks for their vCPUs. */
	for (int i = 0; i < 2; i++)
		if (start_idle())
			return setup_failed("pthread_create");
	const struct map *at = map_at(buf);
	char range[160] = "nothing";
	if (at)
		snprintf(range, sizeof range, "%lx-%lx %s %.100s", (unsigned long)at->lo, (unsigned long)at->hi, at->perms,
			 at->name);
	printf("buffer %#lx released by %s; now mapped there: %s\n", (unsigned long)buf, how, range);
	char kind[64];
	snprintf(kind, sizeof kind, "marker %s", UAF_MARK);
	watch(buf, 4096, kind);
	if (!runner_go())
		return report(2, "needs the host runner (run_tests) to see monitor memory");
	char data[4096];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = UAF_MARK[i % (sizeof UAF_MARK - 1)];
	if (write(pfd[1], data, sizeof data) != (ssize_t)sizeof data)
		return setup_failed("write");
	pthread_join(t, NULL);
	char why[256];
	int v = runner_verdict(why, sizeof why);
	char res[64];
	if (r.rc < 0)
		snprintf(res, sizeof res, "read failed: %s", strerror(r.err));
	else
		snprintf(res, sizeof res, "read returned %zd", r.rc);
	if (v == 1)
		return report(1, "%s after %s, the program's data is in monitor memory at %#lx (%s)", res, how,
			      (unsigned long)buf, why);
	return report(v, "%s after %s; monitor memory %s", res, how, why);
}

/* Where glibc puts a thread's descriptor (struct pthread) and its tid field,
 * measured on a thread of the program: the monitor is built with the same
 * static glibc, and its stacks have the same layout. */
struct layout {
	uint64_t top_to_pd; /* stack mapping end - descriptor */
	uint64_t tid_off;   /* offset of the tid in the descriptor */
	pid_t tid;	    /* the measuring thread */
};

static void *measure_thread(void *arg)
{
	struct layout *l = arg;
	pthread_attr_t a;
	void *sa;
	size_t ss;
	if (pthread_getattr_np(pthread_self(), &a) || pthread_attr_getstack(&a, &sa, &ss))
		return NULL;
	uint64_t pd = (uint64_t)pthread_self();
	l->top_to_pd = (uint64_t)sa + ss - pd;
	uint32_t tid = (uint32_t)gettid_();
	l->tid = (pid_t)tid;
	for (uint64_t off = 0; off < 4096; off += 4)
		if (*(uint32_t *)(pd + off) == tid) {
			l->tid_off = off;
			break;
		}
	return NULL;
}

static bool task_alive(pid_t tid)
{
	char p[64];
	snprintf(p, sizeof p, "/proc/self/task/%d", tid);
	return access(p, F_OK) == 0;
}

static void wait_gone(pid_t tid)
{
	for (int i = 0; i < 500 && task_alive(tid); i++)
		usleep(10000);
}

/* Also settles the monitor's allocations: pthread_join returns when the
 * monitor clears the program's tid word, before the monitor thread behind it
 * has ended. Waiting for that task puts its stack in glibc's stack cache, so
 * the next thread takes that stack and the vCPU left idle, and the one after
 * maps a new stack (first) and a new vCPU: what a guess from the top needs. */
static int measure(struct layout *l)
{
	pthread_t t;
	memset(l, 0, sizeof *l);
	if (pthread_create(&t, NULL, measure_thread, l) || pthread_join(t, NULL))
		return -1;
	wait_gone(l->tid);
	return l->tid_off && !task_alive(l->tid) ? 0 : -1;
}

static volatile pid_t idle_tid;
static int exit_pipe[2];

/* Waits, then leaves with a raw exit: the kernel then walks its robust list. */
static void *exiter_thread(void *arg)
{
	struct robust_list_head *head = arg;
	syscall(SYS_set_robust_list, head, sizeof *head);
	idle_tid = gettid_();
	char c;
	while (read(exit_pipe[0], &c, 1) < 0 && errno == EINTR)
		;
	syscall(SYS_exit, 0);
	return NULL;
}

static void *idle_tid_thread(void *arg)
{
	(void)arg;
	idle_tid = gettid_();
	char c;
	while (read(wake_pipe[0], &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

static pthread_t started; /* the thread start() started last */

static pid_t start(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	idle_tid = 0;
	if (pthread_create(&t, NULL, fn, arg) || pthread_detach(t))
		return -1;
	started = t;
	for (int i = 0; i < 5000 && !idle_tid; i++)
		usleep(1000);
	return idle_tid;
}

/* The stack pointer of the monitor thread behind tid while it is blocked in a host call
 * (/proc/TID/syscall: "NR ARGS... SP PC"), or 0; buf keeps the last reading. That file says
 * "running" while the thread runs (under the module also while it runs its guest): asked
 * again for up to a second. */
static uint64_t blocked_sp(pid_t tid, char *buf, size_t cap)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", tid);
	for (int i = 0; i < 100; i++) {
		int fd = open(path, O_RDONLY);
		ssize_t n = fd >= 0 ? read(fd, buf, cap - 1) : -1;
		if (fd >= 0)
			close(fd);
		buf[n > 0 ? n : 0] = 0;
		buf[strcspn(buf, "\n")] = 0;
		char *pc = strrchr(buf, ' ');
		if (pc && strncmp(buf, "running", 7)) {
			char *sp = pc;
			while (sp > buf && sp[-1] != ' ')
				sp--;
			return strtoull(sp, NULL, 16);
		}
		usleep(10000);
	}
	return 0;
}

/* The kernel's answer: the watched word changed at the thread's exit (woken by wake_fd). */
static int exit_verdict(int wake_fd, pid_t tid, const char *what, uint64_t target)
{
	if (write(wake_fd, "x", 1) != 1)
		return setup_failed("write");
	wait_gone(tid);
	char why[256];
	int v = runner_verdict(why, sizeof why);
	if (v == 1)
		return report(1, "%s changed a word of the monitor at %#lx: %s", what, (unsigned long)target, why);
	return report(v, "%s at thread exit: monitor word at %#lx %s", what, (unsigned long)target, why);
}

/* One try of the clear_child_tid setup: a thread whose clear_child_tid is the tid word of
 * the descriptor of a monitor thread stack ending at hi, once one is mapped there. */
struct ctid_try {
	uint64_t hi, at; /* the released range's end, the clear_child_tid in it */
	int pipe[2];	 /* wakes the thread for its exit */
	pid_t t, u;	 /* that thread; an idle one started after the release */
	pthread_t pt[2]; /* both, for their program stacks */
};

static void *ctid_exiter(void *arg)
{
	struct ctid_try *c = arg;
	syscall(SYS_set_tid_address, c->at);
	idle_tid = gettid_();
	char ch;
	while (read(c->pipe[0], &ch, 1) < 0 && errno == EINTR)
		;
	syscall(SYS_exit, 0); /* raw: the kernel (here the monitor) clears clear_child_tid */
	return NULL;
}

/* A released MIB with a page kept below it, so a hole bounded below, where a new monitor
 * thread stack (MON_STACK and a guard page) fits and the program's next thread stack (8 MiB)
 * does not; a thread with its clear_child_tid there; then an idle thread, whose monitor
 * thread needs a new stack. */
static int ctid_arm(const struct layout *l, struct ctid_try *c)
{
	char *below = mmap(NULL, MIB + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (below == MAP_FAILED || pipe(c->pipe))
		return -1;
	char *m = below + 4096;
	c->hi = (uint64_t)m + MIB;
	c->at = c->hi - l->top_to_pd + l->tid_off;
	c->t = start(ctid_exiter, c);
	c->pt[0] = started;
	wait_blocked(c->t, SYS_read);
	if (c->t <= 0 || munmap(m, MIB))
		return -1;
	c->u = start(idle_tid_thread, NULL);
	c->pt[1] = started;
	wait_blocked(c->u, SYS_read);
	return c->u <= 0 ? -1 : 0;
}

/* Whose monitor thread stack try c's word is in now: the writable mapping there starts
 * MON_STACK below c->hi above a guard page (glibc's stack for a monitor thread; only a
 * neighbour above can merge with it in the maps), no program thread stack holds it, and one
 * of the threads started so far, all blocked, has its monitor stack pointer in it: the word
 * is that monitor thread's tid. Were it program memory (the program's own stack of the next
 * thread, taking the top of an unbounded hole), its clearing at the thread's exit would be
 * the program's own write, as on Linux (threadlife ctid-remap), not an escape. 0 if none;
 * why says what is there. */
static pid_t ctid_owner(const struct ctid_try *c, const struct ctid_try *tries, int n, char *why, size_t cap)
{
	const struct map *m = map_at(c->at);
	if (!m || !strchr(m->perms, 'w'))
		return snprintf(why, cap, "the released range was not reused (%s)", m ? m->perms : "unmapped"), 0;
	struct map at = *m;
	const struct map *g = map_at(at.lo - 1);
	bool guarded = g && !strcmp(g->perms, "---p");
	for (int i = 0; i < 2 * n; i++) {
		pthread_attr_t a;
		void *sa;
		size_t ss;
		if (pthread_getattr_np(tries[i / 2].pt[i % 2], &a) || pthread_attr_getstack(&a, &sa, &ss))
			return snprintf(why, cap, "pthread_getattr_np failed"), 0;
		pthread_attr_destroy(&a);
		if (c->at >= (uint64_t)sa && c->at < (uint64_t)sa + ss)
			return snprintf(why, cap, "clear_child_tid %#lx is in the program's own thread stack %p-%#lx",
					(unsigned long)c->at, sa, (unsigned long)sa + ss), 0;
	}
	if (at.lo != c->hi - MON_STACK || at.hi < c->hi || !guarded)
		return snprintf(why, cap, "clear_child_tid %#lx is in %lx-%lx %s, not a monitor thread stack (%lu KiB) ending at %#lx",
				(unsigned long)c->at, (unsigned long)at.lo, (unsigned long)at.hi, at.perms, MON_STACK >> 10,
				(unsigned long)c->hi), 0;
	char buf[512];
	for (int i = 0; i < 2 * n; i++) {
		pid_t tid = i % 2 ? tries[i / 2].u : tries[i / 2].t;
		uint64_t sp = blocked_sp(tid, buf, sizeof buf);
		/* Not c's own thread: its monitor thread's exit clears its own word. */
		if (tid != c->t && sp >= c->hi - MON_STACK && sp < c->hi)
			return tid;
	}
	return snprintf(why, cap, "no blocked thread's monitor stack pointer in %#lx-%#lx", (unsigned long)at.lo,
			(unsigned long)c->hi), 0;
}

#define CTID_TRIES 4

/* Each new monitor thread stack takes the highest free gap it fits: when that is not this
 * try's hole (a smaller gap higher up), a later try's new stacks may take this hole. */
static int m_ctid_after_unmap(void)
{
	static struct ctid_try tries[CTID_TRIES];
	struct layout l;
	char why[200] = "";
	if (pipe(wake_pipe) || measure(&l))
		return report(2, "cannot measure the thread layout");
	for (int k = 0; k < CTID_TRIES; k++) {
		if (ctid_arm(&l, &tries[k]))
			return setup_failed("threads around a clear_child_tid in a released range");
		for (int i = 0; i <= k; i++) {
			const struct ctid_try *c = &tries[i];
			pid_t owner = ctid_owner(c, tries, k + 1, why, sizeof why);
			if (!owner)
				continue;
			printf("try %d: clear_child_tid %#lx now in the stack of monitor thread %d, %#lx-%#lx\n", k + 1,
			       (unsigned long)c->at, owner, (unsigned long)(c->hi - MON_STACK), (unsigned long)c->hi);
			char kind[32];
			snprintf(kind, sizeof kind, "u32 %d", owner);
			watch(c->at, 4, kind);
			if (!runner_go())
				return report(2, "needs the host runner (run_tests) to see monitor memory");
			return exit_verdict(c->pipe[1], c->t, "clear_child_tid kept after munmap", c->at);
		}
	}
	return report(2, "no monitor thread stack at a released clear_child_tid after %d tries; last: %s", CTID_TRIES,
		      why);
}

static int m_robust_list(void)
{
	struct layout l;
	if (pipe(exit_pipe) || measure(&l))
		return report(2, "cannot measure the thread layout");
	static struct robust_list_head head;
	head.list.next = &head.list;
	head.futex_offset = 0;
	pid_t t = start(exiter_thread, &head);
	if (t <= 0)
		return setup_failed("pthread_create");
	wait_blocked(t, SYS_read);
	/* The monitor thread behind t: its stack pointer, while blocked. */
	char buf[512];
	uint64_t sp = blocked_sp(t, buf, sizeof buf);
	const struct map *at = sp ? map_at(sp) : NULL;
	if (!at)
		return report(2, "no stack pointer of the monitor thread in /proc/self/task/%d/syscall: %s", t, buf);
	/* That thread's own tid, in its descriptor: the kernel's robust-list walk
	 * marks a futex word holding the dying thread's tid OWNER_DIED. */
	uint64_t target = at->hi - l.top_to_pd + l.tid_off;
	head.list_op_pending = (struct robust_list *)target;
	/* The monitor thread's own exit clears that word (glibc's clear_child_tid),
	 * so the runner also asks the host kernel which list it would walk. */
	char kind[32];
	snprintf(kind, sizeof kind, "robust %d", t);
	watch((uint64_t)&head, 8, kind);
	if (!runner_go())
		return report(2, "needs the host runner (run_tests) to see monitor memory");
	return exit_verdict(exit_pipe[1], t, "robust list entry at monitor memory", target);
}

/* ---- 5. double fetch of a length ---- */

static volatile socklen_t *flip_len;
static socklen_t flip_small, flip_big;
static volatile int flipping;

static void *flipper(void *arg)
{
	(void)arg;
	while (flipping) {
		*flip_len = flip_big;
		*flip_len = flip_small;
	}
	return NULL;
}

static const char DF_MARK[] = "DUNE-DF-MARK-";

/* A page of the program right below the monitor's heap: a write past the
 * checked length lands in the monitor. Returns its end. */
static char *below_monitor_heap(uint64_t *heap)
{
	int n = read_maps(maps, 4096);
	for (int i = 0; i < n; i++)
		if (!strcmp(maps[i].name, "[heap]")) {
			*heap = maps[i].lo;
			char *p = mmap((void *)(maps[i].lo - 4096), 4096, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
			return p == MAP_FAILED ? NULL : p + 4096;
		}
	return NULL;
}

static void abstract_name(struct sockaddr_un *a, socklen_t *len, const char *tag)
{
	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	size_t n = 1 + (size_t)snprintf(a->sun_path + 1, sizeof a->sun_path - 1, "%s%s-%d-", DF_MARK, tag, getpid());
	while (n < sizeof a->sun_path - 1) {
		a->sun_path[n] = DF_MARK[n % (sizeof DF_MARK - 1)];
		n++;
	}
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int race_start(socklen_t small, socklen_t big, pthread_t *t)
{
	static socklen_t len;
	flip_len = &len;
	flip_small = small, flip_big = big;
	flipping = 1;
	return pthread_create(t, NULL, flipper, NULL);
}

static int df_finish(pthread_t t, const char *calls, uint64_t heap)
{
	flipping = 0;
	pthread_join(t, NULL);
	char why[256];
	int v = runner_verdict(why, sizeof why);
	if (v == 1)
		return report(1, "%s: the kernel wrote past the checked length into the monitor's heap at %#lx (%s)",
			      calls, (unsigned long)heap, why);
	return report(v, "%s raced against a length flip: monitor heap %s", calls, why);
}

static int m_doublefetch_sockaddr(void)
{
	uint64_t heap;
	char *end = below_monitor_heap(&heap);
	if (!end)
		return report(2, "no free page below the monitor's [heap]");
	char kind[64];
	snprintf(kind, sizeof kind, "marker %s", DF_MARK);
	watch(heap, 4096, kind);
	if (!runner_go())
		return report(2, "needs the host runner (run_tests) to see monitor memory");
	struct sockaddr_un srv, cli, snd;
	socklen_t srvlen, clilen, sndlen;
	abstract_name(&srv, &srvlen, "srv");
	abstract_name(&cli, &clilen, "cli");
	abstract_name(&snd, &sndlen, "snd");
	/* Non-blocking: a call the monitor refuses leaves its connection or
	 * datagram queued, and nothing may wait on a full queue. */
	int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0), c = socket(AF_UNIX, SOCK_STREAM, 0);
	int rs = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0), ss = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	struct sockaddr_un rcv = srv;
	rcv.sun_path[1] = 'R';
	if (bind(ls, (void *)&srv, srvlen) || listen(ls, 64) || connect(c, (void *)&srv, srvlen) ||
	    bind(rs, (void *)&rcv, srvlen) || bind(ss, (void *)&snd, sndlen))
		return setup_failed("unix sockets");
	/* The checked length covers 16 bytes at the end of the page; the flip
	 * offers the kernel the whole name. */
	socklen_t small = 16;
	struct sockaddr *buf = (struct sockaddr *)(end - small);
	pthread_t t;
	if (race_start(small, sizeof(struct sockaddr_un), &t))
		return setup_failed("pthread_create");
	for (int call = 0; call < 4; call++) {
		double stop = now_s() + 1.5;
		while (now_s() < stop) {
			*flip_len = small;
			if (call == 0)
				syscall(SYS_getsockname, ls, buf, flip_len);
			else if (call == 1)
				syscall(SYS_getpeername, c, buf, flip_len);
			else if (call == 2) {
				int k = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
				if (bind(k, (void *)&cli, clilen))
					return setup_failed("bind");
				connect(k, (void *)&srv, srvlen);
				int a = (int)syscall(SYS_accept, ls, buf, flip_len);
				close(k);
				if (a >= 0)
					close(a);
			} else {
				char d = 'x';
				sendto(ss, &d, 1, 0, (void *)&rcv, srvlen);
				syscall(SYS_recvfrom, rs, &d, 1, MSG_DONTWAIT, buf, flip_len);
			}
		}
	}
	return df_finish(t, "getsockname, getpeername, accept, recvfrom", heap);
}

static int m_doublefetch_getsockopt(void)
{
	uint64_t heap;
	char *end = below_monitor_heap(&heap);
	if (!end)
		return report(2, "no free page below the monitor's [heap]");
	/* IP options the program chooses: record route whose unused slots
	 * carry the marker, 40 bytes back from getsockopt. */
	unsigned char opt[40] = { 7, 39, 4 };
	for (int i = 3; i < 39; i++)
		opt[i] = (unsigned char)DF_MARK[(i - 3) % (sizeof DF_MARK - 1)];
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0 || setsockopt(s, IPPROTO_IP, IP_OPTIONS, opt, sizeof opt))
		return setup_failed("IP_OPTIONS");
	char kind[64];
	snprintf(kind, sizeof kind, "marker %.8s", DF_MARK);
	watch(heap, 4096, kind);
	if (!runner_go())
		return report(2, "needs the host runner (run_tests) to see monitor memory");
	socklen_t small = 4;
	char *buf = end - small;
	pthread_t t;
	if (race_start(small, sizeof opt, &t))
		return setup_failed("pthread_create");
	double stop = now_s() + 3;
	while (now_s() < stop) {
		*flip_len = small;
		syscall(SYS_getsockopt, s, IPPROTO_IP, IP_OPTIONS, buf, flip_len);
	}
	return df_finish(t, "getsockopt(IP_OPTIONS)", heap);
}

/* ---- 6. threads leak ---- */

static void *nothing(void *arg) { return arg; }

static long status_kib(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, key, strlen(key)))
			v = atol(line + strlen(key) + 1);
	if (f)
		fclose(f);
	return v;
}

static int cycles(int n, int *done)
{
	for (int i = 0; i < n; i++, (*done)++) {
		pthread_t t;
		int rc = pthread_create(&t, NULL, nothing, NULL);
		if (rc) {
			errno = rc;
			return -1;
		}
		pthread_join(t, NULL);
	}
	return 0;
}

static int m_thread_leak(void)
{
	int done = 0;
	if (cycles(50, &done))
		return report(1, "thread %d could not be created: %s", done, strerror(errno));
	long rss0 = status_kib("VmRSS:"), vm0 = status_kib("VmSize:");
	if (cycles(1000, &done))
		return report(1, "thread %d could not be created: %s (VmRSS %+ld KiB, VmSize %+ld KiB since cycle 50)", done,
			      strerror(errno), status_kib("VmRSS:") - rss0, status_kib("VmSize:") - vm0);
	long rss1 = status_kib("VmRSS:"), vm1 = status_kib("VmSize:");
	if (rss0 < 0 || rss1 < 0)
		return report(2, "no VmRSS in /proc/self/status");
	/* Past KVM's vCPU cap per VM (about 1024). */
	int fail = cycles(150, &done);
	int leak = rss1 - rss0 > 8 * 1024 || vm1 - vm0 > 64 * 1024;
	return report(leak || fail, "1000 thread cycles: VmRSS %+ld KiB, VmSize %+ld KiB; %d threads in all%s%s", rss1 - rss0,
		      vm1 - vm0, done, fail ? ", then creation failed: " : "", fail ? strerror(errno) : "");
}

/* ---- 7. non-canonical RIP, names of the image ---- */

#define SYSCALL_ENTRY 0xffffff8040000800ull /* the monitor's LSTAR (src/vm.h) */
#define NONCANONICAL 0x0000800000000000ull

static uint64_t bad_rip;
static void forge_rip(int sig, siginfo_t *si, void *ctx)
{
	(void)sig, (void)si;
	greg_t *g = ((ucontext_t *)ctx)->uc_mcontext.gregs;
	g[REG_RIP] = (greg_t)bad_rip;
	g[REG_RCX] = (greg_t)NONCANONICAL; /* where the syscall entry "returns" */
}

/* RIPs from the command line, else the review's two and the syscall entry
 * (natively a kernel address: SIGSEGV). */
static int m_sigreturn_noncanonical(int argc, char **argv)
{
	uint64_t rips[8] = { NONCANONICAL, 0xdead000000000000ull, SYSCALL_ENTRY };
	int n = 3;
	for (int i = 0; i < argc && i < 8; i++)
		rips[i] = strtoull(argv[i], NULL, 0), n = i + 1;
	struct sigaction sa = { .sa_sigaction = forge_rip, .sa_flags = SA_SIGINFO };
	sigaction(SIGUSR1, &sa, NULL);
	catch_faults();
	for (int i = 0; i < n; i++) {
		bad_rip = rips[i];
		int sig = sigsetjmp(jb, 1);
		if (!sig) {
			raise(SIGUSR1);
			return report(1, "rt_sigreturn to %#lx came back", (unsigned long)bad_rip);
		}
		if (sig != SIGSEGV)
			return report(1, "rt_sigreturn to %#lx: signal %d, not SIGSEGV", (unsigned long)bad_rip, sig);
		printf("rt_sigreturn to %#lx: SIGSEGV\n", (unsigned long)bad_rip);
	}
	return report(0, "rt_sigreturn to %d forged RIPs: SIGSEGV each time", n);
}

static int m_syscall_entry_badrcx(void)
{
	catch_faults();
	int sig = sigsetjmp(jb, 1);
	if (!sig) {
		/* Into the monitor's syscall entry (LSTAR) with a forged return address. */
		__asm__ volatile("mov %1, %%rcx\n\t"
				 "mov $39, %%eax\n\t"
				 "jmp *%0" ::"r"(SYSCALL_ENTRY), "r"(NONCANONICAL)
				 : "rax", "rcx", "memory");
		return report(1, "the jump came back");
	}
	return report(sig == SIGSEGV ? 0 : 1, "jump to the syscall entry with RCX 0x800000000000: signal %d", sig);
}

static int m_self_exe_paths(void)
{
	char own[4096], p[16][96], l[4096];
	ssize_t n = readlink("/proc/self/exe", own, sizeof own - 1);
	if (n <= 0 || stat("/proc/self/exe", &own_exe) < 0)
		return setup_failed("/proc/self/exe");
	own[n] = 0;
	int np = exe_paths(p), proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (int i = 0; i < np; i++) {
		ssize_t k = readlink(p[i], l, sizeof l - 1);
		l[k > 0 ? k : 0] = 0;
		if (k <= 0 || strcmp(l, own))
			add_hit("readlink %s = \"%s\"", p[i], l);
		struct stat st;
		int fd = open(p[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) || st.st_dev != own_exe.st_dev || st.st_ino != own_exe.st_ino)
			add_hit("open %s: %s", p[i], fd < 0 ? strerror(errno) : "not the program's file");
		if (fd >= 0)
			close(fd);
	}
	ssize_t k = readlinkat(proc, "self/exe", l, sizeof l - 1);
	l[k > 0 ? k : 0] = 0;
	if (k <= 0 || strcmp(l, own))
		add_hit("readlinkat(/proc, self/exe) = \"%s\"", l);
	/* The monitor's own image descriptor is listed in /proc/self/fd (its
	 * link text names the sealed copy); opening it is procfd-reopen's part. */
	if (nhits)
		return report(1, "names of the image that are not the program (%s): %s", own, hits);
	return report(0, "%d names of the image all give %s", np + 1, own);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: escape MODE [args]\n");
		return 2;
	}
	alarm(50); /* never hang a test run */
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *m = argv[1];
	if (!strcmp(m, "procmem-read"))
		return m_procmem_read();
	if (!strcmp(m, "procmem-write"))
		return m_procmem_write();
	if (!strcmp(m, "procmem-paths"))
		return m_procmem_paths();
	if (!strcmp(m, "scm-rights"))
		return m_scm_rights();
	if (!strcmp(m, "procfd-reopen"))
		return m_procfd_reopen(argc - 2, argv + 2);
	if (!strcmp(m, "procfd-metadata"))
		return m_procfd_metadata();
	if (!strncmp(m, "uaf-read-", 9))
		return m_uaf_read(m + 9);
	if (!strcmp(m, "ctid-after-unmap"))
		return m_ctid_after_unmap();
	if (!strcmp(m, "robust-list"))
		return m_robust_list();
	if (!strcmp(m, "doublefetch-sockaddr"))
		return m_doublefetch_sockaddr();
	if (!strcmp(m, "doublefetch-getsockopt"))
		return m_doublefetch_getsockopt();
	if (!strcmp(m, "thread-leak"))
		return m_thread_leak();
	if (!strcmp(m, "sigreturn-noncanonical"))
		return m_sigreturn_noncanonical(argc - 2, argv + 2);
	if (!strcmp(m, "syscall-entry-badrcx"))
		return m_syscall_entry_badrcx();
	if (!strcmp(m, "self-exe-paths"))
		return m_self_exe_paths();
	fprintf(stderr, "escape: unknown mode %s\n", m);
	return 2;
}
