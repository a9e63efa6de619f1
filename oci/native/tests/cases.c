/* Test cases. */
#include "cases.h"
#include "client.h"
#include "rootfs.h"
#include "../plan.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_MS 10000
static char *const base_env[] = { "PATH=/bin", "HOME=/", NULL };

/* ---- plan fragments ---------------------------------------------------------- */

/* CLONE, a private view of the host's mounts, and the rootfs bound on itself. */
static void plan_clone_rootfs(struct plan_builder *pb, const struct suite *s, uint64_t ns)
{
	pb_step(pb, OP_CLONE, "uss", U(ns), "", "");
	pb_step(pb, OP_MOUNT, "sssusu", "", "/", "", U(MS_REC | MS_SLAVE), "", U(0));
	pb_step(pb, OP_ROOTFS, "s", s->rootfs);
	pb_step(pb, OP_MOUNT, "sssusu", s->rootfs, s->rootfs, "", U(MS_BIND | MS_REC), "", U(0));
}

static void plan_proc_dev(struct plan_builder *pb)
{
	const uint64_t in = HOW_TARGET_IN_ROOT | HOW_MKDIR;
	pb_step(pb, OP_MOUNT, "sssusu", "proc", "/proc", "proc", U(MS_NOSUID | MS_NODEV | MS_NOEXEC), "", U(in));
	pb_step(pb, OP_MOUNT, "sssusu", "tmpfs", "/dev", "tmpfs", U(MS_NOSUID | MS_STRICTATIME), "mode=755,size=65536k", U(in));
	static const struct { const char *path; unsigned maj, min; } devs[] = {
		{ "/dev/null", 1, 3 }, { "/dev/zero", 1, 5 }, { "/dev/full", 1, 7 },
		{ "/dev/random", 1, 8 }, { "/dev/urandom", 1, 9 }, { "/dev/tty", 5, 0 },
	};
	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++)
		pb_step(pb, OP_MKNOD, "suuuu", devs[i].path, U(S_IFCHR | 0666), U(makedev(devs[i].maj, devs[i].min)), U(0), U(0));
	pb_step(pb, OP_SYMLINK, "ss", "/proc/self/fd", "/dev/fd");
	pb_step(pb, OP_SYMLINK, "ss", "/proc/self/fd/0", "/dev/stdin");
	pb_step(pb, OP_SYMLINK, "ss", "/proc/self/fd/1", "/dev/stdout");
	pb_step(pb, OP_SYMLINK, "ss", "/proc/self/fd/2", "/dev/stderr");
	pb_step(pb, OP_MOUNT, "sssusu", "devpts", "/dev/pts", "devpts", U(MS_NOSUID | MS_NOEXEC),
		"newinstance,ptmxmode=0666,mode=0620", U(in));
	pb_step(pb, OP_SYMLINK, "ss", "pts/ptmx", "/dev/ptmx");
	pb_step(pb, OP_MOUNT, "sssusu", "shm", "/dev/shm", "tmpfs", U(MS_NOSUID | MS_NODEV | MS_NOEXEC),
		"mode=1777,size=65536k", U(in));
}

static void plan_exec_sh(struct plan_builder *pb, const char *script)
{
	char *argv[] = { "sh", "-c", (char *)script, NULL };
	pb_step(pb, OP_RESOLVE_EXEC, "ss", "sh", "/bin");
	pb_step(pb, OP_EXEC, "uvv", vcount(argv), argv, base_env);
}

/* ---- running ----------------------------------------------------------------- */

/* Receives the PID message; checks it names our own child. */
static int expect_pid(struct suite *s, struct run *r)
{
	struct reply m;
	int rc = run_recv(r, &m, TIMEOUT_MS);
	if (!check(s, rc == 0 && m.kind == KIND_PID, "expected PID, got rc %d kind %u (%s)", rc, m.kind, m.text))
		return -1;
	r->child = (pid_t)m.u[0];
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", r->child);
	FILE *f = fopen(path, "r");
	int ppid = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "PPid: %d", &ppid) == 1)
			break;
	if (f)
		fclose(f);
	/* CLONE_PARENT: the container is the caller's child, so the caller can reap it. */
	check(s, ppid == getpid(), "PID %d has parent %d, expected the test (%d)", r->child, ppid, getpid());
	return 0;
}

/* Receives until ERROR and checks it. */
static void expect_error(struct suite *s, struct run *r, uint32_t op, uint64_t step, int err, const char *detail)
{
	struct reply m;
	int rc;
	while ((rc = run_recv(r, &m, TIMEOUT_MS)) == 0 && m.kind == KIND_PID)
		r->child = (pid_t)m.u[0];
	if (!check(s, rc == 0 && m.kind == KIND_ERROR, "expected ERROR, got rc %d kind %u", rc, m.kind))
		return;
	check(s, m.op == op, "ERROR op %u, expected %u", m.op, op);
	check(s, m.u[0] == step, "ERROR step %llu, expected %llu", (unsigned long long)m.u[0], (unsigned long long)step);
	check(s, m.u[1] == (uint64_t)err, "ERROR errno %llu (%s), expected %d (%s)", (unsigned long long)m.u[1],
	      strerror((int)m.u[1]), err, strerror(err));
	check_contains(s, m.text, detail, "ERROR detail");
	/* The sender exits right after ERROR: the stream ends. */
	check(s, run_recv(r, &m, TIMEOUT_MS) == 1, "no end of stream after ERROR");
}

static int exit_code(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Runs a plan that ends in EXEC with no SYNC/READY: PID, end of stream, exit 0.
 * Returns the program's stdout (malloc'd) or NULL. */
static char *run_to_exit(struct suite *s, struct plan_builder *pb, const struct spawn_opts *o, int want_code)
{
	struct run r;
	char *out = NULL;
	if (!check(s, run_start(&r, s->dune_init, s->dir, pb, o) == 0, "spawn: %s", strerror(errno)))
		goto end;
	if (expect_pid(s, &r) < 0)
		goto end;
	struct reply m;
	int rc = run_recv(&r, &m, TIMEOUT_MS);
	check(s, rc == 1, "expected end of stream after EXEC, got rc %d kind %u op %u \"%s\"", rc, m.kind, m.op, m.text);
	check(s, run_wait_init(&r, TIMEOUT_MS) == 0 && exit_code(r.init_status) == 0,
	      "dune-init exit %d, expected 0", exit_code(r.init_status));
	int st = 0;
	check(s, run_wait_child(&r, TIMEOUT_MS, &st) == 0, "container did not exit in time");
	check(s, exit_code(st) == want_code, "container exit %d, expected %d", exit_code(st), want_code);
	out = read_text(r.out_path);
	char *err = read_text(r.err_path);
	if (s->checks_failed)
		printf("     stdout:\n%s     stderr:\n%s", out, err);
	free(err);
end:
	run_end(&r);
	return out;
}

/* Runs a plan expected to fail with an ERROR in the container (after CLONE) or in
 * dune-init itself (before). */
static void run_to_error(struct suite *s, struct plan_builder *pb, uint32_t op, uint64_t step, int err,
			 const char *detail, const char *stderr_line, int init_code, int child_code)
{
	struct run r;
	if (!check(s, run_start(&r, s->dune_init, s->dir, pb, NULL) == 0, "spawn: %s", strerror(errno)))
		goto end;
	expect_error(s, &r, op, step, err, detail);
	check(s, run_wait_init(&r, TIMEOUT_MS) == 0 && exit_code(r.init_status) == init_code,
	      "dune-init exit %d, expected %d", exit_code(r.init_status), init_code);
	if (child_code >= 0) {
		int st = 0;
		check(s, run_wait_child(&r, TIMEOUT_MS, &st) == 0 && exit_code(st) == child_code,
		      "container exit %d, expected %d", exit_code(st), child_code);
	}
	char *e = read_text(r.err_path);
	check_contains(s, e, stderr_line, "stderr");
	free(e);
end:
	run_end(&r);
}

/* ---- cases ------------------------------------------------------------------- */

#define CAP_CHOWN_BIT (1ull << 0)
#define CAP_NET_BIND_SERVICE_BIT (1ull << 10)

static void t_create_full(struct suite *s)
{
	char fifo[300], data[300], bindsrc[300];
	snprintf(fifo, sizeof(fifo), "%s/exec.fifo", s->dir);
	snprintf(data, sizeof(data), "%s/data.txt", s->dir);
	unlink(fifo);
	/* 0622: the container's user (not root) opens it for writing. */
	if (!check(s, mkfifo(fifo, 0622) == 0 && chmod(fifo, 0622) == 0, "mkfifo: %s", strerror(errno)))
		return;
	FILE *f = fopen(data, "w");
	fputs("bound-file\n", f);
	fclose(f);
	snprintf(bindsrc, sizeof(bindsrc), "/bin");

	struct plan_builder pb;
	pb_init(&pb);
	pb_step(&pb, OP_CLONE, "uss", U(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET), "", "");
	pb_step(&pb, OP_SETHOSTNAME, "s", "dune-test");
	pb_step(&pb, OP_SETDOMAINNAME, "s", "dune-domain");
	pb_step(&pb, OP_MOUNT, "sssusu", "", "/", "", U(MS_REC | MS_SLAVE), "", U(0));
	pb_step(&pb, OP_ROOTFS, "s", s->rootfs);
	pb_step(&pb, OP_MOUNT, "sssusu", s->rootfs, s->rootfs, "", U(MS_BIND | MS_REC), "", U(0));
	plan_proc_dev(&pb);
	/* A host file bound on a file the plan creates, then made read-only. */
	pb_step(&pb, OP_MOUNT, "sssusu", data, "/etc/data", "", U(MS_BIND), "", U(HOW_TARGET_IN_ROOT | HOW_MKFILE));
	pb_step(&pb, OP_MOUNT, "sssusu", "", "/etc/data", "", U(MS_REMOUNT | MS_BIND | MS_RDONLY), "", U(HOW_TARGET_IN_ROOT));
	/* A source inside the rootfs. */
	pb_step(&pb, OP_MOUNT, "sssusu", bindsrc, "/mnt/bin2", "", U(MS_BIND), "",
		U(HOW_TARGET_IN_ROOT | HOW_MKDIR | HOW_SOURCE_IN_ROOT));
	pb_step(&pb, OP_FIFO_OPEN, "s", fifo);
	pb_step(&pb, OP_PIVOT_ROOT, "s", s->rootfs);
	pb_step(&pb, OP_WRITE_FILE, "ss", "/proc/sys/net/ipv4/ip_forward", "1");
	pb_step(&pb, OP_MASK_PATH, "s", "/proc/kcore");
	pb_step(&pb, OP_MASK_PATH, "s", "/proc/version");
	pb_step(&pb, OP_MASK_PATH, "s", "/secret");
	pb_step(&pb, OP_MASK_PATH, "s", "/no/such/path");
	pb_step(&pb, OP_READONLY_PATH, "s", "/proc/sys");
	pb_step(&pb, OP_READONLY_PATH, "s", "/no/such/path");
	pb_step(&pb, OP_SETSID, "");
	pb_step(&pb, OP_NEW_KEYRING, "s", "dune-test");
	pb_step(&pb, OP_RLIMIT, "uuu", U(RLIMIT_NOFILE), U(1000), U(1001));
	pb_step(&pb, OP_PERSONALITY, "u", U(0x0040000)); /* ADDR_NO_RANDOMIZE */
	pb_step(&pb, OP_CAP_BOUNDING, "u", U(CAP_CHOWN_BIT | CAP_NET_BIND_SERVICE_BIT));
	pb_step(&pb, OP_SET_USER, "uuuuu", U(1000), U(1001), U(2), U(1001), U(2000));
	pb_step(&pb, OP_CAPS, "uuuu", U(CAP_NET_BIND_SERVICE_BIT), U(CAP_NET_BIND_SERVICE_BIT),
		U(CAP_NET_BIND_SERVICE_BIT), U(CAP_NET_BIND_SERVICE_BIT));
	pb_step(&pb, OP_UMASK, "u", U(027));
	pb_step(&pb, OP_CHDIR, "su", "/tmp", U(0));
	pb_step(&pb, OP_RESOLVE_EXEC, "ss", "sh", "/usr/bin:/bin");
	pb_step(&pb, OP_READY, "");
	pb_step(&pb, OP_FIFO_WAIT, "");
	char *argv[] = { "sh", "-c",
		"echo host=$(hostname) domain=$(cat /proc/sys/kernel/domainname) persona=$(cat /proc/self/personality);"
		"echo pid=$$; echo uid=$(id -u) gid=$(id -g) groups=\"$(id -G)\";"
		"grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status;"
		"echo nofile=$(ulimit -n) umask=$(umask) cwd=$(pwd) foo=$FOO;"
		"echo fwd=$(cat /proc/sys/net/ipv4/ip_forward);"
		"echo version=$(wc -c < /proc/version) secret=$(ls /secret | wc -l);"
		"echo data=$(cat /etc/data); (echo x >> /etc/data) 2>/dev/null || echo data-ro;"
		"echo bin2=$(ls /mnt/bin2/busybox);"
		"echo null=$(ls -ln /dev/null | cut -c1-10),$(stat -c '%t:%T' /dev/null);"
		"echo ptmx=$(readlink /dev/ptmx) marker=$(cat /marker);"
		"grep -E ' /(proc|dev|dev/pts|dev/shm|proc/sys|proc/version|secret|etc/data) ' /proc/mounts;"
		"echo done",
		NULL };
	char *env[] = { "PATH=/bin", "FOO=bar", NULL };
	pb_step(&pb, OP_EXEC, "uvv", vcount(argv), argv, env);

	struct run r;
	if (!check(s, run_start(&r, s->dune_init, s->dir, &pb, NULL) == 0, "spawn"))
		goto end;
	if (expect_pid(s, &r) < 0)
		goto end;
	char ns_self[64] = "", ns_child[64] = "", path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", r.child);
	if (readlink("/proc/self/ns/pid", ns_self, sizeof(ns_self) - 1) < 0 ||
	    readlink(path, ns_child, sizeof(ns_child) - 1) < 0)
		check(s, 0, "readlink ns: %s", strerror(errno));
	else
		check(s, strcmp(ns_self, ns_child) != 0, "container shares our pid namespace (%s)", ns_child);
	check(s, run_wait_init(&r, TIMEOUT_MS) == 0 && exit_code(r.init_status) == 0,
	      "dune-init exit %d after CLONE, expected 0", exit_code(r.init_status));

	struct reply m;
	int rc = run_recv(&r, &m, TIMEOUT_MS);
	if (!check(s, rc == 0 && m.kind == KIND_READY, "expected READY, got rc %d kind %u \"%s\"", rc, m.kind, m.text)) {
		char *e = read_text(r.err_path);
		printf("     stderr: %s\n", e);
		free(e);
		goto end;
	}
	/* The program must not start before `dune start` opens the fifo. */
	struct timespec ts = { 0, 200 * 1000000 };
	nanosleep(&ts, NULL);
	struct stat st;
	check(s, stat(r.out_path, &st) == 0 && st.st_size == 0, "program produced output before the fifo was opened");
	int ffd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (!check(s, ffd >= 0, "open fifo: %s", strerror(errno)))
		goto end;
	struct pollfd p = { .fd = ffd, .events = POLLIN };
	char b = 0;
	check(s, poll(&p, 1, TIMEOUT_MS) == 1 && read(ffd, &b, 1) == 1 && b == '0', "no '0' from the exec fifo");
	close(ffd);
	rc = run_recv(&r, &m, TIMEOUT_MS);
	check(s, rc == 1, "expected end of stream after EXEC, got rc %d kind %u", rc, m.kind);
	int status = 0;
	check(s, run_wait_child(&r, TIMEOUT_MS, &status) == 0 && exit_code(status) == 0,
	      "container exit %d", exit_code(status));
	char *out = read_text(r.out_path);
	static const char *const want[] = {
		"host=dune-test domain=dune-domain persona=00040000\n", "pid=1\n", "uid=1000 gid=1001 groups=1001 2000\n",
		"CapInh:\t0000000000000400", "CapPrm:\t0000000000000400", "CapEff:\t0000000000000400",
		"CapBnd:\t0000000000000401", "CapAmb:\t0000000000000400",
		"nofile=1000 umask=0027 cwd=/tmp foo=bar\n", "fwd=1\n", "version=0 secret=0\n",
		"data=bound-file\ndata-ro\n", "bin2=/mnt/bin2/busybox\n", "null=crw-rw-rw-,1:3\n",
		"ptmx=pts/ptmx marker=" MARKER_TEXT "\n",
		"proc /proc proc rw,", "tmpfs /dev tmpfs rw,", "devpts /dev/pts devpts rw,", "shm /dev/shm tmpfs rw,",
		"proc /proc/sys proc ro,", " /secret tmpfs ro,", "/proc/version ", " /etc/data ", "done\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		check_contains(s, out, want[i], "program output");
	/* The read-only remount of /etc/data must be visible as ro (whatever the host fs is). */
	const char *ed = strstr(out, " /etc/data ");
	const char *eol = ed ? strchr(ed, '\n') : NULL;
	const char *ro = ed ? strstr(ed, " ro,") : NULL;
	check(s, ed && eol && ro && ro < eol, "/etc/data is not mounted read-only");
	free(out);
end:
	run_end(&r);
	pb_free(&pb);
	unlink(fifo);
	unlink(data);
}

static void t_bad_mount(struct suite *s)
{
	struct plan_builder pb;
	pb_init(&pb);
	plan_clone_rootfs(&pb, s, CLONE_NEWNS);
	size_t idx = pb_step(&pb, OP_MOUNT, "sssusu", "/nonexistent-dune-src", "/mnt/x", "", U(MS_BIND), "",
			     U(HOW_TARGET_IN_ROOT | HOW_MKDIR));
	plan_exec_sh(&pb, "true");
	run_to_error(s, &pb, OP_MOUNT, idx, ENOENT, "/nonexistent-dune-src",
		     "dune-init: mount /nonexistent-dune-src on /mnt/x: No such file or directory\n", 0, 1);
	pb_free(&pb);
}

static void t_bad_fstype(struct suite *s)
{
	struct plan_builder pb;
	pb_init(&pb);
	plan_clone_rootfs(&pb, s, CLONE_NEWNS);
	size_t idx = pb_step(&pb, OP_MOUNT, "sssusu", "none", "/mnt", "no-such-fs", U(0), "", U(HOW_TARGET_IN_ROOT));
	plan_exec_sh(&pb, "true");
	run_to_error(s, &pb, OP_MOUNT, idx, ENODEV, "/mnt", "dune-init: mount none on /mnt: No such device\n", 0, 1);
	pb_free(&pb);
}

static void t_resolve_missing(struct suite *s)
{
	struct plan_builder pb;
	pb_init(&pb);
	pb_step(&pb, OP_CLONE, "uss", U(0), "", "");
	size_t idx = pb_step(&pb, OP_RESOLVE_EXEC, "ss", "no-such-binary", "/usr/local/bin:/bin");
	char *argv[] = { "no-such-binary", NULL };
	pb_step(&pb, OP_EXEC, "uvv", vcount(argv), argv, base_env);
	run_to_error(s, &pb, OP_RESOLVE_EXEC, idx, ENOENT, "no-such-binary",
		     "dune-init: resolve-exec no-such-binary: No such file or directory\n", 0, 1);
	pb_free(&pb);
}

static void t_exec_fails(struct suite *s)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/not-a-program", s->dir);
	FILE *f = fopen(path, "w");
	fputs("\x01\x02 not an executable format\n", f);
	fclose(f);
	chmod(path, 0755);
	struct plan_builder pb;
	pb_init(&pb);
	pb_step(&pb, OP_CLONE, "uss", U(0), "", "");
	pb_step(&pb, OP_RESOLVE_EXEC, "ss", path, "");
	char *argv[] = { path, NULL };
	size_t idx = pb_step(&pb, OP_EXEC, "uvv", vcount(argv), argv, base_env);
	run_to_error(s, &pb, OP_EXEC, idx, ENOEXEC, path, "dune-init: exec ", 0, 127);
	pb_free(&pb);
	unlink(path);
}

static void t_malformed(struct suite *s)
{
	struct plan_builder pb;
	pb_init(&pb);
	/* MOUNT with two arguments instead of six: rejected before anything runs. */
	pb_step(&pb, OP_MOUNT, "ss", "a", "b");
	run_to_error(s, &pb, OP_MOUNT, 0, EINVAL, "arguments", "dune-init: mount ", 1, -1);
	pb_free(&pb);
}

static void hook_plan(struct plan_builder *pb, const struct suite *s, uint64_t timeout, const char *script, size_t *idx)
{
	char sh[320];
	snprintf(sh, sizeof(sh), "%s/bin/sh", s->rootfs);
	char *argv[] = { "sh", "-c", (char *)script, NULL };
	pb_step(pb, OP_CLONE, "uss", U(0), "", "");
	*idx = pb_step(pb, OP_RUN_HOOK, "ssuuvv", "", sh, U(timeout), vcount(argv), argv, base_env);
	plan_exec_sh(pb, "true");
}

static void t_hook_fails(struct suite *s)
{
	struct plan_builder pb;
	size_t idx;
	pb_init(&pb);
	hook_plan(&pb, s, 0, "echo hook-ran >&2; exit 3", &idx);
	run_to_error(s, &pb, OP_RUN_HOOK, idx, ECANCELED, "/bin/sh exited with status 3", "hook-ran\n", 0, 1);
	pb_free(&pb);
}

static void t_hook_timeout(struct suite *s)
{
	struct plan_builder pb;
	size_t idx;
	pb_init(&pb);
	hook_plan(&pb, s, 1, "exec sleep 20", &idx);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	run_to_error(s, &pb, OP_RUN_HOOK, idx, ETIMEDOUT, "timed out after 1 s", "dune-init: run-hook hook ", 0, 1);
	clock_gettime(CLOCK_MONOTONIC, &b);
	double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	check(s, secs >= 0.9 && secs < 5, "timeout took %.2f s", secs);
	pb_free(&pb);
}

static void t_hook_missing(struct suite *s)
{
	struct plan_builder pb;
	pb_init(&pb);
	pb_step(&pb, OP_CLONE, "uss", U(0), "", "");
	char *argv[] = { "hook", NULL };
	size_t idx = pb_step(&pb, OP_RUN_HOOK, "ssuuvv", "", "/no/such/hook", U(0), vcount(argv), argv, base_env);
	plan_exec_sh(&pb, "true");
	run_to_error(s, &pb, OP_RUN_HOOK, idx, ENOENT, "hook /no/such/hook (exec)",
		     "dune-init: run-hook hook /no/such/hook (exec): No such file or directory\n", 0, 1);
	pb_free(&pb);
}

static void t_write_file_fails(struct suite *s)
{
	struct plan_builder pb;
	pb_init(&pb);
	pb_step(&pb, OP_CLONE, "uss", U(CLONE_NEWNET), "", "");
	size_t idx = pb_step(&pb, OP_WRITE_FILE, "ss", "/proc/sys/net/ipv4/no_such_sysctl", "1");
	plan_exec_sh(&pb, "true");
	run_to_error(s, &pb, OP_WRITE_FILE, idx, ENOENT, "/proc/sys/net/ipv4/no_such_sysctl",
		     "dune-init: write-file /proc/sys/net/ipv4/no_such_sysctl: No such file or directory\n", 0, 1);
	pb_free(&pb);
}

/* After CLOSE_SOCKET a failure can only be seen on stderr and in the exit status. */
static void t_close_socket(struct suite *s)
{
	struct plan_builder pb;
	pb_init(&pb);
	pb_step(&pb, OP_CLONE, "uss", U(0), "", "");
	pb_step(&pb, OP_CLOSE_SOCKET, "");
	pb_step(&pb, OP_RESOLVE_EXEC, "ss", "no-such-binary", "/bin");
	struct run r;
	if (!check(s, run_start(&r, s->dune_init, s->dir, &pb, NULL) == 0, "spawn") || expect_pid(s, &r) < 0)
		goto end;
	struct reply m;
	int rc = run_recv(&r, &m, TIMEOUT_MS);
	check(s, rc == 1, "expected end of stream (no ERROR after CLOSE_SOCKET), got rc %d kind %u", rc, m.kind);
	int st = 0;
	check(s, run_wait_child(&r, TIMEOUT_MS, &st) == 0 && exit_code(st) == 1, "container exit %d, expected 1", exit_code(st));
	char *e = read_text(r.err_path);
	check_contains(s, e, "dune-init: resolve-exec no-such-binary: No such file or directory\n", "stderr");
	free(e);
end:
	run_end(&r);
	pb_free(&pb);
}

/* UNSHARE(CLONE_NEWTIME) + timens_offsets in the parent; the clone lands in the new time namespace. */
static void t_timens(struct suite *s)
{
	struct plan_builder pb;
	pb_init(&pb);
	pb_step(&pb, OP_UNSHARE, "u", U(CLONE_NEWTIME));
	pb_step(&pb, OP_WRITE_FILE, "ss", "/proc/self/timens_offsets", "monotonic 1000000 0\nboottime 1000000 0\n");
	pb_step(&pb, OP_CLONE, "uss", U(0), "", "");
	plan_exec_sh(&pb, "cut -d. -f1 /proc/uptime");
	char *out = run_to_exit(s, &pb, NULL, 0);
	if (out) {
		long up = strtol(out, NULL, 10);
		check(s, up >= 1000000, "uptime in the time namespace is %ld s, expected >= 1000000", up);
	}
	free(out);
	pb_free(&pb);
}

static void t_signals_reset(struct suite *s)
{
	struct plan_builder pb;
	pb_init(&pb);
	pb_step(&pb, OP_CLONE, "uss", U(0), "", "");
	plan_exec_sh(&pb, "grep -E '^Sig(Blk|Ign)' /proc/self/status");
	struct spawn_opts o = { .keep_fd = -1, .dirty_signals = 1 };
	char *out = run_to_exit(s, &pb, &o, 0);
	if (out) {
		check_contains(s, out, "SigBlk:\t0000000000000000\n", "program output");
		check_contains(s, out, "SigIgn:\t0000000000000000\n", "program output");
	}
	free(out);
	pb_free(&pb);
}

static void t_sync_state(struct suite *s)
{
	char state_out[300], state2_out[300], script[400], script2[400];
	snprintf(state_out, sizeof(state_out), "%s/state.out", s->dir);
	snprintf(state2_out, sizeof(state2_out), "%s/state2.out", s->dir);
	unlink(state_out);
	unlink(state2_out);
	snprintf(script, sizeof(script), "cat > %s", state_out);
	snprintf(script2, sizeof(script2), "cat > %s", state2_out);
	const char *state = "{\"ociVersion\":\"1.0.2\",\"id\":\"t1\",\"status\":\"creating\",\"pid\":42,\"bundle\":\"/b\"}";
	const char *state2 = "{\"ociVersion\":\"1.0.2\",\"id\":\"t1\",\"status\":\"created\",\"pid\":42,\"bundle\":\"/b\"}";

	struct plan_builder pb;
	pb_init(&pb);
	pb_step(&pb, OP_CLONE, "uss", U(0), "", "");
	pb_step(&pb, OP_SYNC, "s", "createRuntime");
	char sh[320];
	snprintf(sh, sizeof(sh), "%s/bin/sh", s->rootfs);
	char *argv[] = { "sh", "-c", script, NULL };
	char *argv2[] = { "sh", "-c", script2, NULL };
	pb_step(&pb, OP_RUN_HOOK, "ssuuvv", "", sh, U(5), vcount(argv), argv, base_env);
	/* A later hook gets the second state document CONTINUE carried. */
	pb_step(&pb, OP_SELECT_STATE, "u", U(1));
	pb_step(&pb, OP_RUN_HOOK, "ssuuvv", "", sh, U(5), vcount(argv2), argv2, base_env);
	plan_exec_sh(&pb, "echo after-hook");

	struct run r;
	if (!check(s, run_start(&r, s->dune_init, s->dir, &pb, NULL) == 0, "spawn"))
		goto end;
	if (expect_pid(s, &r) < 0)
		goto end;
	struct reply m;
	int rc = run_recv(&r, &m, TIMEOUT_MS);
	if (!check(s, rc == 0 && m.kind == KIND_SYNC && strcmp(m.text, "createRuntime") == 0,
		   "expected SYNC createRuntime, got rc %d kind %u \"%s\"", rc, m.kind, m.text))
		goto end;
	/* The child waits for CONTINUE: nothing else may arrive meanwhile. */
	check(s, run_recv(&r, &m, 200) == -1, "a message arrived before CONTINUE");
	struct msg_buf c = { 0 };
	msg_encode(&c, KIND_CONTINUE, 0, "ss", state, state2);
	check(s, run_send(&r, &c) == 0, "send CONTINUE");
	free(c.p);
	rc = run_recv(&r, &m, TIMEOUT_MS);
	check(s, rc == 1, "expected end of stream, got rc %d kind %u \"%s\"", rc, m.kind, m.text);
	int st = 0;
	check(s, run_wait_child(&r, TIMEOUT_MS, &st) == 0 && exit_code(st) == 0, "container exit %d", exit_code(st));
	char *got = read_text(state_out);
	check(s, strcmp(got, state) == 0, "hook stdin was \"%s\"", got);
	free(got);
	got = read_text(state2_out);
	check(s, strcmp(got, state2) == 0, "second hook stdin was \"%s\"", got);
	free(got);
	char *out = read_text(r.out_path);
	check_contains(s, out, "after-hook\n", "program output");
	free(out);
end:
	run_end(&r);
	pb_free(&pb);
	unlink(state_out);
	unlink(state2_out);
}

static void t_userns(struct suite *s)
{
	struct plan_builder pb;
	pb_init(&pb);
	pb_step(&pb, OP_CLONE, "uss", U(CLONE_NEWUSER | CLONE_NEWUTS), "0 100000 65536\n", "0 200000 65536\n");
	pb_step(&pb, OP_SETHOSTNAME, "s", "in-userns");
	pb_step(&pb, OP_SET_USER, "uuu", U(0), U(0), U(0));
	char sh[320];
	snprintf(sh, sizeof(sh), "%s/bin/sh", s->rootfs);
	char *argv[] = { "sh", "-c",
		"echo uid=$(id -u) gid=$(id -g) host=$(hostname); cat /proc/self/uid_map /proc/self/gid_map;"
		"grep -E '^(Uid|Gid):' /proc/self/status",
		NULL };
	pb_step(&pb, OP_RESOLVE_EXEC, "ss", sh, "");
	pb_step(&pb, OP_EXEC, "uvv", vcount(argv), argv, base_env);
	char *out = run_to_exit(s, &pb, NULL, 0);
	if (out) {
		check_contains(s, out, "uid=0 gid=0 host=in-userns\n", "program output");
		/* The maps as seen from inside, and ids that are 0 inside the namespace. */
		check(s, strstr(out, "100000") && strstr(out, "200000"), "maps missing in:\n%s", out);
		check_contains(s, out, "Uid:\t0\t0\t0\t0", "program output");
	}
	free(out);
	pb_free(&pb);
}

/* A root switch done entirely inside a new user namespace (docker's userns-remap): devices
 * are bind-mounted (mknod is not allowed there) and read-only remounts keep locked flags. */
static void t_userns_rootfs(struct suite *s)
{
	/* Its own rootfs, owned by the namespace's root as a remapped image would be. */
	char dir[400], root[420], err[256];
	snprintf(dir, sizeof(dir), "%s/userns", s->dir);
	snprintf(root, sizeof(root), "%s/rootfs", dir);
	if (!check(s, (mkdir(dir, 0755) == 0 || errno == EEXIST) && make_rootfs(dir, err, sizeof(err)) == 0 &&
		   chown_tree(root, 100000, 100000) == 0, "userns rootfs: %s", err))
		return;
	/* A host mount with nosuid,nodev,noexec (in the tests' private mount namespace). */
	char locked[420];
	snprintf(locked, sizeof(locked), "%s/locked", s->dir);
	if (!check(s, (mkdir(locked, 0755) == 0 || errno == EEXIST) &&
		   mount("tmpfs", locked, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") == 0,
		   "mount %s: %s", locked, strerror(errno)))
		return;
	struct plan_builder pb;
	pb_init(&pb);
	const uint64_t in = HOW_TARGET_IN_ROOT | HOW_MKDIR;
	pb_step(&pb, OP_CLONE, "uss", U(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC),
		"0 100000 65536\n", "0 100000 65536\n");
	pb_step(&pb, OP_MOUNT, "sssusu", "", "/", "", U(MS_REC | MS_SLAVE), "", U(0));
	pb_step(&pb, OP_ROOTFS, "s", root);
	pb_step(&pb, OP_MOUNT, "sssusu", root, root, "", U(MS_BIND | MS_REC), "", U(0));
	pb_step(&pb, OP_MOUNT, "sssusu", "proc", "/proc", "proc", U(MS_NOSUID | MS_NODEV | MS_NOEXEC), "", U(in));
	pb_step(&pb, OP_MOUNT, "sssusu", "tmpfs", "/dev", "tmpfs", U(MS_NOSUID), "mode=755", U(in));
	pb_step(&pb, OP_MOUNT, "sssusu", "/dev/null", "/dev/null", "", U(MS_BIND), "", U(HOW_TARGET_IN_ROOT | HOW_MKFILE));
	/* A host directory bound in: its nosuid/nodev are locked in the user namespace. */
	pb_step(&pb, OP_MOUNT, "sssusu", locked, "/mnt/hostshm", "", U(MS_BIND), "", U(in));
	pb_step(&pb, OP_SETHOSTNAME, "s", "userns-root");
	pb_step(&pb, OP_PIVOT_ROOT, "s", root);
	pb_step(&pb, OP_MASK_PATH, "s", "/proc/version");
	pb_step(&pb, OP_READONLY_PATH, "s", "/proc/sys");
	pb_step(&pb, OP_READONLY_PATH, "s", "/mnt/hostshm");
	pb_step(&pb, OP_SET_USER, "uuu", U(0), U(0), U(0));
	plan_exec_sh(&pb, "echo uid=$(id -u) host=$(hostname) pid=$$; echo x > /dev/null && echo null-ok;"
			  "echo version=$(wc -c < /proc/version); grep -E ' /(proc/sys|mnt/hostshm) ' /proc/mounts;"
			  "cat /marker");
	char *out = run_to_exit(s, &pb, NULL, 0);
	if (out) {
		check_contains(s, out, "uid=0 host=userns-root pid=1\nnull-ok\nversion=0\n", "program output");
		check_contains(s, out, "proc /proc/sys proc ro,", "program output");
		check_contains(s, out, " /mnt/hostshm tmpfs ro,nosuid,nodev,noexec,", "program output");
		check_contains(s, out, MARKER_TEXT "\n", "program output");
	}
	free(out);
	pb_free(&pb);
	umount2(locked, MNT_DETACH);
}

static void t_console(struct suite *s)
{
	int sv[2];
	if (!check(s, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair"))
		return;
	struct plan_builder pb;
	pb_init(&pb);
	plan_clone_rootfs(&pb, s, CLONE_NEWNS | CLONE_NEWPID);
	plan_proc_dev(&pb);
	pb_step(&pb, OP_MKNOD, "suuuu", "/dev/console", U(S_IFREG | 0600), U(0), U(0), U(0));
	pb_step(&pb, OP_PIVOT_ROOT, "s", s->rootfs);
	pb_step(&pb, OP_SETSID, "");
	pb_step(&pb, OP_CONSOLE, "uuu", U(sv[1]), U(24), U(80));
	plan_exec_sh(&pb, "tty; stty size; echo hello-console; ls -l /dev/console | cut -c1; "
			  "[ -t 0 ] && [ -t 2 ] && echo stdio-is-tty");
	struct run r;
	struct spawn_opts o = { .keep_fd = sv[1] };
	if (!check(s, run_start(&r, s->dune_init, s->dir, &pb, &o) == 0, "spawn"))
		goto end;
	close(sv[1]);
	sv[1] = -1;
	if (expect_pid(s, &r) < 0)
		goto end;
	char name[256] = "";
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = name, .iov_len = sizeof(name) - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	struct pollfd p = { .fd = sv[0], .events = POLLIN };
	ssize_t n = -1;
	if (poll(&p, 1, TIMEOUT_MS) == 1)
		n = recvmsg(sv[0], &msg, MSG_CMSG_CLOEXEC);
	struct cmsghdr *cm = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (!check(s, cm && cm->cmsg_type == SCM_RIGHTS, "no fd on the console socket (n=%zd)", n)) {
		char *e = read_text(r.err_path);
		printf("     stderr: %s\n", e);
		free(e);
		goto end;
	}
	name[n] = '\0';
	int master;
	memcpy(&master, CMSG_DATA(cm), sizeof(int));
	check(s, strcmp(name, "/dev/pts/0") == 0, "payload \"%s\", expected /dev/pts/0", name);
	char out[4096];
	size_t len = 0;
	for (;;) {
		struct pollfd q = { .fd = master, .events = POLLIN };
		if (poll(&q, 1, TIMEOUT_MS) != 1)
			break;
		ssize_t k = read(master, out + len, sizeof(out) - 1 - len);
		if (k <= 0)
			break; /* EIO once the last replica fd is closed */
		len += (size_t)k;
	}
	out[len] = '\0';
	close(master);
	check_contains(s, out, "/dev/pts/0\r\n", "console output");
	check_contains(s, out, "24 80\r\n", "console output");
	check_contains(s, out, "hello-console\r\n", "console output");
	check_contains(s, out, "c\r\n", "console output (/dev/console is the pty)");
	check_contains(s, out, "stdio-is-tty\r\n", "console output");
	int st = 0;
	check(s, run_wait_child(&r, TIMEOUT_MS, &st) == 0 && exit_code(st) == 0, "container exit %d", exit_code(st));
end:
	run_end(&r);
	pb_free(&pb);
	close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
}

static void t_chroot_move(struct suite *s)
{
	struct plan_builder pb;
	pb_init(&pb);
	plan_clone_rootfs(&pb, s, CLONE_NEWNS | CLONE_NEWPID);
	pb_step(&pb, OP_MOUNT, "sssusu", "proc", "/proc", "proc", U(0), "", U(HOW_TARGET_IN_ROOT | HOW_MKDIR));
	pb_step(&pb, OP_CHROOT_MOVE, "s", s->rootfs);
	plan_exec_sh(&pb, "cat /marker; [ -e /usr ] || echo no-usr; echo pid=$$; echo cwd=$(pwd)");
	char *out = run_to_exit(s, &pb, NULL, 0);
	if (out) {
		check_contains(s, out, MARKER_TEXT "\nno-usr\npid=1\ncwd=/\n", "program output");
	}
	free(out);
	pb_free(&pb);
}

static void t_mount_setattr(struct suite *s)
{
	struct plan_builder pb;
	const uint64_t in = HOW_TARGET_IN_ROOT | HOW_MKDIR;
	pb_init(&pb);
	plan_clone_rootfs(&pb, s, CLONE_NEWNS | CLONE_NEWPID);
	pb_step(&pb, OP_PARENT_PRIVATE, "s", s->rootfs);
	pb_step(&pb, OP_MOUNT, "sssusu", "proc", "/proc", "proc", U(0), "", U(in));
	pb_step(&pb, OP_MOUNT, "sssusu", "tmpfs", "/mnt/rec", "tmpfs", U(0), "", U(in));
	pb_step(&pb, OP_MOUNT, "sssusu", "tmpfs", "/mnt/rec/sub", "tmpfs", U(0), "", U(in));
	/* rro + rnoexec: the mount and the one below it. */
	pb_step(&pb, OP_MOUNT_SETATTR, "suu", "/mnt/rec", U(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC), U(0));
	pb_step(&pb, OP_PIVOT_ROOT, "s", s->rootfs);
	plan_exec_sh(&pb, "touch /mnt/rec/a 2>/dev/null || echo ro-top; touch /mnt/rec/sub/b 2>/dev/null || echo ro-sub;"
			  "grep -c ' /mnt/rec[/a-z]* ro,noexec' /proc/self/mountinfo");
	char *out = run_to_exit(s, &pb, NULL, 0);
	if (out)
		check_contains(s, out, "ro-top\nro-sub\n2\n", "program output");
	free(out);
	pb_free(&pb);
}

static void t_mount_setattr_missing(struct suite *s)
{
	struct plan_builder pb;
	pb_init(&pb);
	plan_clone_rootfs(&pb, s, CLONE_NEWNS);
	pb_step(&pb, OP_MOUNT, "sssusu", "tmpfs", "/mnt/rec", "tmpfs", U(0), "", U(HOW_TARGET_IN_ROOT | HOW_MKDIR));
	size_t idx = pb_step(&pb, OP_MOUNT_SETATTR, "suu", "/mnt/rec", U(MOUNT_ATTR_RDONLY), U(0));
	plan_exec_sh(&pb, "true");
	const struct spawn_opts o = { .keep_fd = -1, .deny_mount_api = 1 };
	struct run r;
	if (check(s, run_start(&r, s->dune_init, s->dir, &pb, &o) == 0, "spawn: %s", strerror(errno)))
		expect_error(s, &r, OP_MOUNT_SETATTR, idx, ENOSYS, "/mnt/rec (recursive mount options need mount_setattr, Linux 5.12 or later)");
	run_end(&r);
	pb_free(&pb);
}

static void t_open_tree_missing(struct suite *s)
{
	char src[PATH_MAX];
	snprintf(src, sizeof(src), "%s/bin", s->rootfs);
	struct plan_builder pb;
	pb_init(&pb);
	/* Without open_tree the bind falls back to the source path. */
	pb_step(&pb, OP_OPEN_TREE, "su", src, U(0));
	plan_clone_rootfs(&pb, s, CLONE_NEWNS);
	pb_step(&pb, OP_MOUNT, "sssusu", src, "/mnt/tree", "", U(MS_BIND), "",
		U(HOW_TARGET_IN_ROOT | HOW_MKDIR | HOW_SOURCE_TREE));
	pb_step(&pb, OP_CHROOT_MOVE, "s", s->rootfs);
	plan_exec_sh(&pb, "ls /mnt/tree/busybox");
	const struct spawn_opts o = { .keep_fd = -1, .deny_mount_api = 1 };
	char *out = run_to_exit(s, &pb, &o, 0);
	if (out)
		check_contains(s, out, "/mnt/tree/busybox\n", "program output");
	free(out);
	pb_free(&pb);
}

static void t_open_tree(struct suite *s)
{
	char src[PATH_MAX];
	snprintf(src, sizeof(src), "%s/bin", s->rootfs);
	struct plan_builder pb;
	pb_init(&pb);
	/* The copy made before the clone is what the child mounts, in a user namespace too. */
	pb_step(&pb, OP_OPEN_TREE, "su", src, U(1));
	pb_step(&pb, OP_CLONE, "uss", U(CLONE_NEWNS | CLONE_NEWUSER), "0 0 4294967295\n", "0 0 4294967295\n");
	pb_step(&pb, OP_MOUNT, "sssusu", "", "/", "", U(MS_REC | MS_SLAVE), "", U(0));
	pb_step(&pb, OP_ROOTFS, "s", s->rootfs);
	pb_step(&pb, OP_MOUNT, "sssusu", s->rootfs, s->rootfs, "", U(MS_BIND | MS_REC), "", U(0));
	pb_step(&pb, OP_MOUNT, "sssusu", src, "/mnt/tree", "", U(MS_BIND | MS_REC), "",
		U(HOW_TARGET_IN_ROOT | HOW_MKDIR | HOW_SOURCE_TREE));
	pb_step(&pb, OP_CHROOT_MOVE, "s", s->rootfs);
	plan_exec_sh(&pb, "ls /mnt/tree/busybox");
	char *out = run_to_exit(s, &pb, NULL, 0);
	if (out)
		check_contains(s, out, "/mnt/tree/busybox\n", "program output");
	free(out);
	pb_free(&pb);
}

static void t_chroot(struct suite *s)
{
	struct plan_builder pb;
	pb_init(&pb);
	/* No mount namespace: a plain chroot, nothing moved in the caller's namespace. */
	pb_step(&pb, OP_CLONE, "uss", U(0), "", "");
	pb_step(&pb, OP_CHROOT, "s", s->rootfs);
	plan_exec_sh(&pb, "cat /marker; [ -e /usr ] || echo no-usr; echo cwd=$(pwd)");
	char *out = run_to_exit(s, &pb, NULL, 0);
	if (out)
		check_contains(s, out, MARKER_TEXT "\nno-usr\ncwd=/\n", "program output");
	free(out);
	pb_free(&pb);
}

static void t_chdir_phases(struct suite *s)
{
	struct plan_builder pb;
	pb_init(&pb);
	pb_step(&pb, OP_CLONE, "uss", U(0), "", "");
	/* Phase 2 without a refused phase 1 does nothing; phase 1 fails on anything but a
	 * permission error. */
	pb_step(&pb, OP_CHDIR, "su", "/nonexistent-dune-cwd", U(2));
	size_t idx = pb_step(&pb, OP_CHDIR, "su", "/nonexistent-dune-cwd", U(1));
	plan_exec_sh(&pb, "true");
	run_to_error(s, &pb, OP_CHDIR, idx, ENOENT, "/nonexistent-dune-cwd", "dune-init: chdir ", 0, 1);
	pb_free(&pb);
}

static void t_seccomp(struct suite *s)
{
	char target[300], script[700];
	snprintf(target, sizeof(target), "%s/seccomp-dir", s->dir);
	rmdir(target);
	snprintf(script, sizeof(script), "mkdir %s 2>&1; echo rc=$?; echo alive", target);
	/* mkdir and mkdirat fail with EPERM, everything else is allowed. */
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mkdir, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mkdirat, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	};
	struct plan_builder pb;
	pb_init(&pb);
	pb_step(&pb, OP_CLONE, "uss", U(0), "", "");
	pb_step(&pb, OP_NO_NEW_PRIVS, "");
	char sh[320];
	snprintf(sh, sizeof(sh), "%s/bin/sh", s->rootfs);
	pb_step(&pb, OP_RESOLVE_EXEC, "ss", sh, "");
	pb_step(&pb, OP_SECCOMP, "bu", (const void *)f, sizeof(f), U(0));
	char *argv[] = { "sh", "-c", script, NULL };
	pb_step(&pb, OP_EXEC, "uvv", vcount(argv), argv, base_env);
	char *out = run_to_exit(s, &pb, NULL, 0);
	if (out) {
		check_contains(s, out, "Operation not permitted", "program output");
		check_contains(s, out, "rc=1\nalive\n", "program output");
	}
	struct stat st;
	check(s, stat(target, &st) < 0, "%s was created despite the filter", target);
	rmdir(target);
	free(out);
	pb_free(&pb);
}

/* A copy of pid's descriptor fd (as dune takes the one SECCOMP_FD names), or -1. */
static int take_fd(pid_t pid, int fd)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return -1;
	int copy = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	close(pidfd);
	return copy;
}

/* SECCOMP with a listener: SECCOMP_FD names the descriptor, the child waits for CONTINUE and
 * keeps no copy, and its notified calls are answered by whoever holds the copy taken. */
static void t_seccomp_listener(struct suite *s)
{
	char target[300], script[700];
	snprintf(target, sizeof(target), "%s/notify-dir", s->dir);
	rmdir(target);
	snprintf(script, sizeof(script),
		 "mkdir %s; echo rc=$?; ls -l /proc/self/fd/ | grep -c 'seccomp notify'; echo alive", target);
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mkdir, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mkdirat, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
	};
	struct plan_builder pb;
	pb_init(&pb);
	pb_step(&pb, OP_CLONE, "uss", U(0), "", "");
	pb_step(&pb, OP_NO_NEW_PRIVS, "");
	char sh[320];
	snprintf(sh, sizeof(sh), "%s/bin/sh", s->rootfs);
	pb_step(&pb, OP_RESOLVE_EXEC, "ss", sh, "");
	pb_step(&pb, OP_SECCOMP, "bu", (const void *)f, sizeof(f), U(SECCOMP_FILTER_FLAG_NEW_LISTENER));
	char *argv[] = { "sh", "-c", script, NULL };
	pb_step(&pb, OP_EXEC, "uvv", vcount(argv), argv, base_env);
	struct run r;
	struct reply m;
	int listener = -1;
	if (!check(s, run_start(&r, s->dune_init, s->dir, &pb, NULL) == 0, "spawn") || expect_pid(s, &r) < 0)
		goto end;
	int rc = run_recv(&r, &m, TIMEOUT_MS);
	if (!check(s, rc == 0 && m.kind == KIND_SECCOMP_FD, "expected SECCOMP_FD, got rc %d kind %u", rc, m.kind))
		goto end;
	listener = take_fd(r.child, (int)m.u[0]);
	if (!check(s, listener >= 0, "pidfd_getfd of the child's fd %llu: %s", (unsigned long long)m.u[0], strerror(errno)))
		goto end;
	/* The child waits for CONTINUE before it goes on to the program. */
	struct reply other;
	check(s, run_recv(&r, &other, 200) == -1, "a message arrived before CONTINUE");
	char *out = read_text(r.out_path);
	check(s, !*out, "the program ran before CONTINUE: %s", out);
	free(out);
	struct msg_buf c = { 0 };
	msg_encode(&c, KIND_CONTINUE, 0, "");
	check(s, run_send(&r, &c) == 0, "send CONTINUE");
	free(c.p);
	/* Answer the program's mkdir: success, without making the directory. */
	struct seccomp_notif req;
	struct pollfd p = { .fd = listener, .events = POLLIN };
	if (check(s, poll(&p, 1, TIMEOUT_MS) == 1, "no notification from the program") &&
	    check(s, (memset(&req, 0, sizeof req), ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req)) == 0, "NOTIF_RECV: %s",
		  strerror(errno))) {
		check(s, req.data.nr == SYS_mkdir || req.data.nr == SYS_mkdirat, "notified syscall %d", req.data.nr);
		struct seccomp_notif_resp resp = { .id = req.id };
		check(s, ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) == 0, "NOTIF_SEND: %s", strerror(errno));
	}
	rc = run_recv(&r, &other, TIMEOUT_MS);
	check(s, rc == 1, "expected end of stream after EXEC, got rc %d kind %u", rc, other.kind);
	int st = 0;
	check(s, run_wait_child(&r, TIMEOUT_MS, &st) == 0 && exit_code(st) == 0, "container exit %d", exit_code(st));
	out = read_text(r.out_path);
	check_contains(s, out, "rc=0\n0\nalive\n", "program output (mkdir answered, no notify fd in the program)");
	free(out);
	struct stat sb;
	check(s, stat(target, &sb) < 0, "%s exists: the listener's answer was not used", target);
end:
	if (listener >= 0)
		close(listener);
	rmdir(target);
	run_end(&r);
	pb_free(&pb);
}

/* Without CONTINUE (dune could not reach the agent and closed the socket), the child stops. */
static void t_seccomp_listener_refused(struct suite *s)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mkdir, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct plan_builder pb;
	pb_init(&pb);
	pb_step(&pb, OP_CLONE, "uss", U(0), "", "");
	pb_step(&pb, OP_NO_NEW_PRIVS, "");
	char sh[320];
	snprintf(sh, sizeof(sh), "%s/bin/sh", s->rootfs);
	pb_step(&pb, OP_RESOLVE_EXEC, "ss", sh, "");
	pb_step(&pb, OP_SECCOMP, "bu", (const void *)f, sizeof(f), U(SECCOMP_FILTER_FLAG_NEW_LISTENER));
	char *argv[] = { "sh", "-c", "echo ran", NULL };
	pb_step(&pb, OP_EXEC, "uvv", vcount(argv), argv, base_env);
	struct run r;
	struct reply m;
	if (!check(s, run_start(&r, s->dune_init, s->dir, &pb, NULL) == 0, "spawn") || expect_pid(s, &r) < 0)
		goto end;
	int rc = run_recv(&r, &m, TIMEOUT_MS);
	check(s, rc == 0 && m.kind == KIND_SECCOMP_FD, "expected SECCOMP_FD, got rc %d kind %u", rc, m.kind);
	shutdown(r.sock, SHUT_WR);
	int st = 0;
	check(s, run_wait_child(&r, TIMEOUT_MS, &st) == 0 && exit_code(st) == 1, "container exit %d, expected 1", exit_code(st));
	char *out = read_text(r.out_path), *err = read_text(r.err_path);
	check(s, !*out, "the program ran: %s", out);
	check_contains(s, err, "seccomp notification descriptor (no answer from dune)", "dune-init's stderr");
	free(out);
	free(err);
end:
	run_end(&r);
	pb_free(&pb);
}

/* SETNS and JOIN_CGROUP, as an exec plan into a running container would use them. */
static void t_setns_cgroup(struct suite *s)
{
	char cg[200], procs[256];
	snprintf(cg, sizeof(cg), "/sys/fs/cgroup/pids/dune-init-test-%d", getpid());
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg);
	if (!check(s, mkdir(cg, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", cg, strerror(errno)))
		return;
	/* The "container": its own uts namespace and hostname, then a long sleep. */
	struct plan_builder a;
	pb_init(&a);
	pb_step(&a, OP_CLONE, "uss", U(CLONE_NEWUTS | CLONE_NEWPID), "", "");
	pb_step(&a, OP_SETHOSTNAME, "s", "alpha");
	char sh[320];
	snprintf(sh, sizeof(sh), "%s/bin/sh", s->rootfs);
	pb_step(&a, OP_RESOLVE_EXEC, "ss", sh, "");
	pb_step(&a, OP_READY, "");
	char *argv_a[] = { "sh", "-c", "exec sleep 30", NULL };
	pb_step(&a, OP_EXEC, "uvv", vcount(argv_a), argv_a, base_env);
	struct run ra;
	struct plan_builder b;
	pb_init(&b);
	if (!check(s, run_start(&ra, s->dune_init, s->dir, &a, NULL) == 0, "spawn") || expect_pid(s, &ra) < 0)
		goto end;
	struct reply m;
	check(s, run_recv(&ra, &m, TIMEOUT_MS) == 0 && m.kind == KIND_READY, "container: no READY");
	char path[64], want_uts[64] = "";
	snprintf(path, sizeof(path), "/proc/%d/ns/uts", ra.child);
	check(s, readlink(path, want_uts, sizeof(want_uts) - 1) > 0, "readlink %s", path);

	snprintf(path, sizeof(path), "/proc/%d/ns/uts", ra.child);
	pb_step(&b, OP_JOIN_CGROUP, "s", procs);
	pb_step(&b, OP_SETNS, "us", U(CLONE_NEWUTS), path);
	char pidns[64];
	snprintf(pidns, sizeof(pidns), "/proc/%d/ns/pid", ra.child);
	pb_step(&b, OP_SETNS, "us", U(CLONE_NEWPID), pidns);
	pb_step(&b, OP_CLONE, "uss", U(0), "", "");
	pb_step(&b, OP_RESOLVE_EXEC, "ss", sh, "");
	char *argv_b[] = { "sh", "-c", "echo host=$(hostname) uts=$(readlink /proc/self/ns/uts); grep pids /proc/self/cgroup", NULL };
	pb_step(&b, OP_EXEC, "uvv", vcount(argv_b), argv_b, base_env);
	char *out = run_to_exit(s, &b, NULL, 0);
	if (out) {
		char want[200];
		snprintf(want, sizeof(want), "host=alpha uts=%s\n", want_uts);
		check_contains(s, out, want, "exec'd program output");
		snprintf(want, sizeof(want), ":pids:/dune-init-test-%d\n", getpid());
		check_contains(s, out, want, "exec'd program output");
	}
	free(out);
end:
	run_end(&ra);
	pb_free(&a);
	pb_free(&b);
	rmdir(cg);
}

/* CLONE moves the child into cgroups while it sets up; CGROUP_WAIT then roots a new cgroup
 * namespace there. A cgroup file that cannot be written fails the parent with ERROR. */
static void t_clone_into_cgroup(struct suite *s)
{
	char cg[200], procs[256];
	snprintf(cg, sizeof(cg), "/sys/fs/cgroup/pids/dune-init-move-%d", getpid());
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg);
	if (!check(s, mkdir(cg, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", cg, strerror(errno)))
		return;
	char sh[320];
	snprintf(sh, sizeof(sh), "%s/bin/sh", s->rootfs);
	struct plan_builder pb;
	pb_init(&pb);
	pb_step(&pb, OP_CLONE, "usss", U(CLONE_NEWPID), "", "", procs);
	pb_step(&pb, OP_CGROUP_WAIT, "u", U(1));
	pb_step(&pb, OP_RESOLVE_EXEC, "ss", sh, "");
	char *argv[] = { "sh", "-c", "grep pids /proc/self/cgroup", NULL };
	pb_step(&pb, OP_EXEC, "uvv", vcount(argv), argv, base_env);
	char *out = run_to_exit(s, &pb, NULL, 0);
	if (out)
		check_contains(s, out, ":pids:/\n", "the cgroup namespace is rooted at the container's cgroup");
	free(out);
	pb_free(&pb);

	/* Moving into a cgroup that does not exist: the parent reports the file. */
	char missing[300];
	snprintf(missing, sizeof(missing), "%s/nope/cgroup.procs", cg);
	pb_init(&pb);
	pb_step(&pb, OP_CLONE, "usss", U(0), "", "", missing);
	pb_step(&pb, OP_CGROUP_WAIT, "u", U(0));
	pb_step(&pb, OP_RESOLVE_EXEC, "ss", sh, "");
	char *argv2[] = { "sh", "-c", "echo should-not-run", NULL };
	pb_step(&pb, OP_EXEC, "uvv", vcount(argv2), argv2, base_env);
	run_to_error(s, &pb, OP_CLONE, 0, ENOENT, missing, "dune-init: clone", 1, 1);
	pb_free(&pb);
	rmdir(cg);
}

/* A new network namespace has lo down until LOOPBACK_UP. */
static void t_loopback_up(struct suite *s)
{
	char sh[320];
	snprintf(sh, sizeof(sh), "%s/bin/sh", s->rootfs);
	char *argv[] = { "sh", "-c", "ip link show lo", NULL };
	for (int up = 0; up < 2; up++) {
		struct plan_builder pb;
		pb_init(&pb);
		pb_step(&pb, OP_CLONE, "uss", U(CLONE_NEWNET), "", "");
		if (up)
			pb_step(&pb, OP_LOOPBACK_UP, "");
		pb_step(&pb, OP_RESOLVE_EXEC, "ss", sh, "");
		pb_step(&pb, OP_EXEC, "uvv", vcount(argv), argv, base_env);
		char *out = run_to_exit(s, &pb, NULL, 0);
		if (out)
			check(s, (strstr(out, "<LOOPBACK,UP") != NULL) == up, "lo %s: %s", up ? "should be up" : "should be down", out);
		free(out);
		pb_free(&pb);
	}
}

/* "In rootfs" targets that go through symlinks pointing out of the rootfs stay inside. */
static void escape_case(struct suite *s, int deny_openat2)
{
	char inside[400], outside[300], name[64];
	snprintf(name, sizeof(name), "dune-escape-%d-%d", getpid(), deny_openat2);
	snprintf(inside, sizeof(inside), "%s/tmp/%s", s->rootfs, name);
	snprintf(outside, sizeof(outside), "/tmp/%s", name);
	char t1[128], t2[128], t3[128];
	snprintf(t1, sizeof(t1), "/escape/%s/a", name);
	snprintf(t2, sizeof(t2), "/abs-escape/%s/b", name);
	snprintf(t3, sizeof(t3), "/../../../tmp/%s/c", name);
	struct plan_builder pb;
	pb_init(&pb);
	plan_clone_rootfs(&pb, s, CLONE_NEWNS);
	const uint64_t how = HOW_TARGET_IN_ROOT | HOW_MKDIR;
	pb_step(&pb, OP_MOUNT, "sssusu", "tmpfs", t1, "tmpfs", U(0), "", U(how));
	pb_step(&pb, OP_MOUNT, "sssusu", "tmpfs", t2, "tmpfs", U(0), "", U(how));
	pb_step(&pb, OP_MOUNT, "sssusu", "tmpfs", t3, "tmpfs", U(0), "", U(how));
	pb_step(&pb, OP_MKNOD, "suuuu", "/escape/null", U(S_IFCHR | 0666), U(makedev(1, 3)), U(0), U(0));
	pb_step(&pb, OP_PIVOT_ROOT, "s", s->rootfs);
	char script[300];
	snprintf(script, sizeof(script), "grep -c '^tmpfs /tmp/%s/[abc] tmpfs' /proc/mounts; ls /tmp/null", name);
	pb_step(&pb, OP_MOUNT, "sssusu", "proc", "/proc", "proc", U(0), "", U(0));
	plan_exec_sh(&pb, script);
	struct spawn_opts o = { .keep_fd = -1, .deny_openat2 = deny_openat2 };
	char *out = run_to_exit(s, &pb, &o, 0);
	if (out) {
		check_contains(s, out, "3\n/tmp/null\n", "program output");
	}
	struct stat st;
	check(s, stat(inside, &st) == 0, "%s was not created", inside);
	check(s, stat(outside, &st) < 0, "%s was created outside the rootfs", outside);
	char sub[500];
	for (const char *x = "abc"; *x; x++) {
		snprintf(sub, sizeof(sub), "%s/%c", inside, *x);
		rmdir(sub);
	}
	rmdir(inside);
	snprintf(sub, sizeof(sub), "%s/tmp/null", s->rootfs);
	unlink(sub);
	free(out);
	pb_free(&pb);
}

static void t_inroot_openat2(struct suite *s)
{
	escape_case(s, 0);
}

static void t_inroot_fallback(struct suite *s)
{
	escape_case(s, 1);
}

const struct test_case test_cases[] = {
	{ "create: namespaces, mounts, devices, pivot, masks, sysctl, user, caps, fifo, exec", t_create_full },
	{ "error: bind mount of a missing source", t_bad_mount },
	{ "error: mount of an unknown file system type", t_bad_fstype },
	{ "error: RESOLVE_EXEC of a missing binary", t_resolve_missing },
	{ "error: EXEC of a file that is not a program exits 127", t_exec_fails },
	{ "error: malformed step", t_malformed },
	{ "hook: non-zero exit fails the step", t_hook_fails },
	{ "hook: timeout kills it and fails the step", t_hook_timeout },
	{ "hook: a missing hook reports exec's errno", t_hook_missing },
	{ "error: WRITE_FILE of a missing sysctl", t_write_file_fails },
	{ "close-socket: later failures reach stderr and the exit status only", t_close_socket },
	{ "unshare: time namespace with timens_offsets", t_timens },
	{ "signals: the caller's ignored and blocked signals do not reach the program", t_signals_reset },
	{ "sync: CONTINUE states reach hooks on stdin (SELECT_STATE)", t_sync_state },
	{ "clone: user namespace with uid_map/gid_map", t_userns },
	{ "clone: user namespace with its own mounts, root switch and read-only paths", t_userns_rootfs },
	{ "console: pty master over SCM_RIGHTS, replica as stdio and /dev/console", t_console },
	{ "chroot-move: --no-pivot root switch", t_chroot_move },
	{ "mount-setattr: recursive read-only and noexec reach the mount below", t_mount_setattr },
	{ "mount-setattr: a kernel without mount_setattr fails with a clear message", t_mount_setattr_missing },
	{ "open-tree: the copy made before a user namespace is moved into place", t_open_tree },
	{ "open-tree: without open_tree the bind uses the path", t_open_tree_missing },
	{ "chroot: root switch without a mount namespace", t_chroot },
	{ "chdir: phase 2 only after a refused phase 1; other errors fail phase 1", t_chdir_phases },
	{ "seccomp: a BPF filter denies mkdir with EPERM", t_seccomp },
	{ "seccomp: SECCOMP_FD names a listener's descriptor, none stays in the program, its answer counts", t_seccomp_listener },
	{ "seccomp: without CONTINUE after SECCOMP_FD the child stops before the program", t_seccomp_listener_refused },
	{ "exec plan: SETNS into a running container, JOIN_CGROUP (v1 pids)", t_setns_cgroup },
	{ "create plan: CLONE moves the child into its cgroup, CGROUP_WAIT roots the cgroup namespace", t_clone_into_cgroup },
	{ "LOOPBACK_UP brings lo up in a new network namespace", t_loopback_up },
	{ "in rootfs: symlinks cannot lead outside (openat2)", t_inroot_openat2 },
	{ "in rootfs: symlinks cannot lead outside (fallback without openat2)", t_inroot_fallback },
};
const int test_case_count = sizeof(test_cases) / sizeof(test_cases[0]);
