/* The libdune test suite: runs programs under dune-run and checks what a
 * user relies on (output, exit status, host side effects). Last line:
 * "N passed, N failed". Needs /dev/kvm; DUNE_ALLOW_NO_KVM=1 turns the
 * KVM tests into printed skips. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sysnames.h"

static char *dune_run, *progs, *srcdir;

/* The device the inherited-descriptor tests pass with --kvm-fd: KVM's, or the Dune module's
 * on a host with the module instead (dune-run tells them apart). */
static const char *hw_device(void)
{
	return access("/dev/kvm", F_OK) == 0 ? "/dev/kvm" : "/dev/dune";
}
/* dune-run has no policy of its own: tests that are not about the policy get this one. */
static char *allow_all;
static char tmp[256];
static int passed, failed, skipped;

struct result {
	int exited, code, signaled, sig;
	char out[65536];
	char err[16384];
	double seconds;
};

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Called with each whole line of the child's stdout as it arrives. */
typedef void (*line_fn)(void *ctx, pid_t pid, const char *line);

/* Run argv (NULL-terminated) with stdin from in_fd (/dev/null if < 0),
 * capture stdout and stderr, run_limit seconds; on_line (if any) sees stdout line
 * by line while the child runs. */
/* Seconds a run may take (run_lines); a test that needs more sets it and puts it back. */
static int run_limit = 60;

static void run_lines(struct result *r, int in_fd, char *const argv[], line_fn on_line, void *ctx)
{
	memset(r, 0, sizeof *r);
	int o[2], e[2];
	if (pipe(o) || pipe(e)) {
		perror("pipe");
		exit(2);
	}
	double t0 = now();
	pid_t pid = fork();
	if (pid == 0) {
		dup2(o[1], 1);
		dup2(e[1], 2);
		close(o[0]);
		close(e[0]);
		dup2(in_fd >= 0 ? in_fd : open("/dev/null", O_RDONLY), 0);
		execv(argv[0], argv);
		_exit(127);
	}
	close(o[1]);
	close(e[1]);
	size_t no = 0, ne = 0, line = 0;
	struct pollfd pf[2] = { { o[0], POLLIN, 0 }, { e[0], POLLIN, 0 } };
	int open_fds = 2;
	while (open_fds > 0) {
		int left = (int)((t0 + run_limit - now()) * 1000);
		if (left <= 0 || poll(pf, 2, left) <= 0) {
			kill(pid, SIGKILL);
			snprintf(r->err + ne, sizeof r->err - ne, "[test runner: timed out]");
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP)))
				continue;
			char *buf = i ? r->err : r->out;
			size_t *n = i ? &ne : &no;
			size_t cap = i ? sizeof r->err : sizeof r->out;
			ssize_t k = read(pf[i].fd, buf + *n, cap - 1 - *n);
			if (k <= 0) {
				close(pf[i].fd);
				pf[i].fd = -1;
				open_fds--;
				continue;
			}
			*n += (size_t)k;
			buf[*n] = 0;
			char *nl;
			while (i == 0 && on_line && (nl = memchr(r->out + line, '\n', no - line))) {
				*nl = 0;
				on_line(ctx, pid, r->out + line);
				*nl = '\n';
				line = (size_t)(nl + 1 - r->out);
			}
		}
	}
	for (int i = 0; i < 2; i++)
		if (pf[i].fd >= 0)
			close(pf[i].fd);
	int st;
	waitpid(pid, &st, 0);
	r->seconds = now() - t0;
	r->exited = WIFEXITED(st);
	r->code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r->signaled = WIFSIGNALED(st);
	r->sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
}

static void run_in(struct result *r, int in_fd, char *const argv[]) { run_lines(r, in_fd, argv, NULL, NULL); }

static void run(struct result *r, char *const argv[]) { run_in(r, -1, argv); }

static char why[1024];

static int fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	return 1;
}

static int expect(const struct result *r, int code, const char *out_has)
{
	if (code >= 0 && (!r->exited || r->code != code))
		return fail("wanted exit %d, got %s %d; stderr: %.400s", code, r->exited ? "exit" : "signal",
			    r->exited ? r->code : r->sig, r->err);
	if (out_has && !strstr(r->out, out_has))
		return fail("stdout lacks \"%s\"; stdout: %.400s; stderr: %.400s", out_has, r->out, r->err);
	return 0;
}

static int expect_signal(const struct result *r, int sig)
{
	if (!r->signaled || r->sig != sig)
		return fail("wanted death by signal %d, got %s %d; stdout: %.200s stderr: %.300s", sig,
			    r->exited ? "exit" : "signal", r->exited ? r->code : r->sig, r->out, r->err);
	return 0;
}

#define DUNE(...) ((char *const[]){ (char *)dune_run, "--policy", allow_all, __VA_ARGS__, NULL })
#define SH(cmd) DUNE("/bin/busybox", "sh", "-c", (cmd))

static char *prog(const char *name)
{
	static char buf[8][512];
	static int k;
	char *b = buf[k++ % 8];
	snprintf(b, 512, "%s/%s", progs, name);
	return b;
}

static char *fmt(const char *f, ...)
{
	static char buf[8][2048];
	static int k;
	char *b = buf[k++ % 8];
	va_list ap;
	va_start(ap, f);
	vsnprintf(b, 2048, f, ap);
	va_end(ap);
	return b;
}

static char *write_file(const char *name, const char *text)
{
	char *path = fmt("%s/%s", tmp, name);
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(2);
	}
	fputs(text, f);
	fclose(f);
	return path;
}

/* ---- tests ---- */

static struct result R;

static int t_busybox_echo(void) { run(&R, DUNE("/bin/busybox", "echo", "hello", "dune")); return expect(&R, 0, "hello dune\n"); }
static int t_sh_pipe(void)
{
	run(&R, SH(fmt("ls %s | sort | head -n 3", srcdir)));
	return expect(&R, 0, "Makefile\nREADME.md\nbench\n");
}
static int t_sh_redirect(void)
{
	run(&R, SH(fmt("echo abc > %s/f; cat < %s/f; echo def >> %s/f; wc -l < %s/f; cat %s/nothere 2>/dev/null || echo missing",
		       tmp, tmp, tmp, tmp, tmp)));
	return expect(&R, 0, "abc\n2\nmissing\n");
}
static int t_sort(void) { run(&R, SH("printf 'pear\\napple\\nfig\\n' | sort")); return expect(&R, 0, "apple\nfig\npear\n"); }
static int t_find(void)
{
	run(&R, SH(fmt("find %s/tests/progs -name 'shadow.c' -type f", srcdir)));
	return expect(&R, 0, "tests/progs/shadow.c\n");
}
static int t_ls_cat(void)
{
	write_file("cat-me", "line one\nline two\n");
	run(&R, SH(fmt("ls %s && cat %s/cat-me", tmp, tmp)));
	return expect(&R, 0, "cat-me") || expect(&R, 0, "line one\nline two\n");
}
static int t_sleep(void)
{
	run(&R, DUNE("/bin/busybox", "sleep", "0.3"));
	if (expect(&R, 0, NULL))
		return 1;
	return R.seconds < 0.29 ? fail("slept only %.3f s", R.seconds) : 0;
}
static int t_kill(void)
{
	run(&R, SH("sleep 10 & kill $!; wait $!; echo status $?"));
	if (expect(&R, 0, "status 143\n"))
		return 1;
	return R.seconds > 5 ? fail("kill did not stop sleep (%.1f s)", R.seconds) : 0;
}
static int t_exit_status(void) { run(&R, SH("exit 42")); return expect(&R, 42, NULL); }
static int t_exit_false(void) { run(&R, DUNE("/bin/busybox", "false")); return expect(&R, 1, NULL); }
static int t_exit_signal(void) { run(&R, SH("kill -TERM $$; sleep 5")); return expect_signal(&R, SIGTERM); }
static int t_nested_sh(void)
{
	run(&R, SH("sh -c 'sh -c \"exit 3\"'; echo nested $?"));
	return expect(&R, 0, "nested 3\n");
}
static int t_script(void)
{
	char *s = write_file("script.sh", "#!/bin/busybox sh\necho script \"$1\"\nexit 4\n");
	chmod(s, 0755);
	run(&R, DUNE(s, "arg"));
	return expect(&R, 4, "script arg\n");
}
/* /proc/PID/cmdline, environ and comm of a Dune process are byte for byte what the same
 * program shows natively: after exec, for a script (its interpreter first), and after the
 * program rewrites its argv in place (process titles). */
static int t_identity(void)
{
	char *s = write_file("title.sh", "#!/bin/busybox sh\ntr '\\0' '|' </proc/$$/cmdline; echo; cat /proc/$$/comm\n");
	chmod(s, 0755);
	char *id = prog("identity");
	char *const cases[][6] = {
		{ id, "show", "a", "b c", "", NULL },
		{ id, "exec", "x", "y z", NULL },
		{ id, "title", "arg1", "arg2", NULL },
		{ s, "a1", NULL },
	};
	const char *must[] = { "environ exact", "comm exe", "padded ", "/bin/busybox|sh|" };
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct result native;
		run(&native, cases[i]);
		char *dune[10] = { (char *)dune_run, "--policy", allow_all };
		for (int k = 0; cases[i][k]; k++)
			dune[3 + k] = cases[i][k];
		run(&R, dune);
		if (expect(&native, 0, must[i])) {
			char native_why[sizeof why];
			snprintf(native_why, sizeof native_why, "%s", why);
			return fail("natively: %s", native_why);
		}
		if (expect(&R, 0, NULL))
			return 1;
		if (strcmp(R.out, native.out))
			return fail("%s %s: Dune process shows\n%s\nnatively\n%s", cases[i][0], cases[i][1], R.out, native.out);
	}
	return 0;
}
/* userfaultfd: the guest's touches of registered missing pages reach the program's handler
 * thread (also when it asked for UFFD_USER_MODE_ONLY: as root the monitor may drop it), one
 * fault per page the program touches (fault-around populates nothing ahead of it), and
 * no request reaches memory outside the program's or another process's address space. */
static int t_uffd(void)
{
	run(&R, DUNE(prog("uffd"), "handle"));
	if (expect(&R, 0, "handled: ABCDEFGH\n"))
		return 1;
	run(&R, DUNE(prog("uffd"), "handle", "usermode"));
	if (expect(&R, 0, "handled: ABCDEFGH\n"))
		return 1;
	run(&R, DUNE(prog("uffd"), "order"));
	if (expect(&R, 0, "order: one fault per page written\n"))
		return 1;
	run(&R, DUNE(prog("uffd"), "monitor"));
	return expect(&R, 0, "register monitor: Bad address\ncopy to monitor: Bad address\nregister own: ok\n"
			     "inherited: Operation not permitted\n");
}
static int t_glibc_ls(void) { run(&R, DUNE("/bin/ls", srcdir)); return expect(&R, 0, "Makefile\n"); }
static int t_python(void)
{
	run(&R, DUNE("/usr/bin/python3", "-c", "import os, sys; print(os.getpid() > 0, sum(range(100))); sys.exit(3)"));
	return expect(&R, 3, "True 4950\n");
}
static int t_musl(void) { run(&R, DUNE(prog("hello-musl"), "musl", "5")); return expect(&R, 5, "hello from musl\n"); }
static int t_musl_static(void) { run(&R, DUNE(prog("hello-musl-static"), "static-musl")); return expect(&R, 0, "hello from static-musl\n"); }
static int t_threads(void) { run(&R, DUNE(prog("threads"))); return expect(&R, 0, "counter=80000 tls_sum=80006\n"); }
static int t_thread_join(void)
{
	run(&R, DUNE(prog("threadlife"), "join"));
	return expect(&R, 0, "joined 800 threads, 50 more in a forked child\n");
}
static int t_thread_robust(void)
{
	run(&R, DUNE(prog("threadlife"), "robust"));
	return expect(&R, 0, "robust: EOWNERDEAD after join and for a waiter\n");
}
static int t_thread_lists(void)
{
	run(&R, DUNE(prog("threadlife"), "lists"));
	return expect(&R, 0, "lists: set_tid_address, set/get_robust_list ok\n");
}
/* What the escape test "clear_child_tid in unmapped memory" must not call an escape. */
static int t_thread_ctid_remap(void)
{
	run(&R, DUNE(prog("threadlife"), "ctid-remap"));
	return expect(&R, 0, "ctid-remap: unmapped no error, mapped anew cleared\n");
}
static int t_thread_shared_robust(void)
{
	run(&R, DUNE(prog("threadlife"), "shared"));
	return expect(&R, 0, "shared: EOWNERDEAD after exit_group and after SIGSEGV\n");
}
/* Ended threads give back their host thread, memory and vCPU (KVM caps a
 * VM at about 1024 vCPUs): growth after a warm-up stays small. */
static int t_thread_cycles(void)
{
	run(&R, DUNE(prog("threadlife"), "cycles", "1100"));
	char *line = strstr(R.out, "cycles=");
	if (line)
		printf("     %.*s\n", (int)strcspn(line, "\n"), line);
	return expect(&R, 0, "bounded\n");
}
static int t_forkexec(void) { run(&R, DUNE(prog("forkexec"))); return expect(&R, 0, "forkexec ok\n"); }
static int t_forkexec_static(void) { run(&R, DUNE(prog("forkexec-static"))); return expect(&R, 0, "forkexec ok\n"); }
/* tests/progs/vfork MODE [ARG]: exit 0 with want on stdout, natively and as a Dune process,
 * and the same output both ways. */
static int vfork_case(const char *mode, const char *arg, const char *want)
{
	static struct result native;
	run(&native, (char *const[]){ prog("vfork"), (char *)mode, (char *)arg, NULL });
	if (expect(&native, 0, want)) {
		char native_why[sizeof why];
		snprintf(native_why, sizeof native_why, "%s", why);
		return fail("natively: %s", native_why);
	}
	run(&R, DUNE(prog("vfork"), (char *)mode, (char *)arg));
	if (expect(&R, 0, want))
		return 1;
	if (strcmp(native.out, R.out))
		return fail("output differs from the native run: native \"%.300s\", Dune \"%.300s\"", native.out, R.out);
	return 0;
}
static int t_vfork_enoent(void)
{
	return vfork_case("enoent", NULL,
			  "posix_spawn missing: No such file or directory\nposix_spawnp missing: No such file or directory\n");
}
static int t_vfork_spawn(void) { return vfork_case("spawn", NULL, "posix_spawn: 0, status 7\n"); }
static int t_vfork_store(void) { return vfork_case("store", NULL, "vfork child stored 42, mapped v, _exit status 3\n"); }
static int t_vfork_execfail(void)
{
	return vfork_case("execfail", NULL, "execve in the vfork child: No such file or directory, status 9\n");
}
static int t_vfork_sigaction(void)
{
	return vfork_case("sigaction", NULL, "child status 0; parent handler kept, SIGUSR2 not blocked\n");
}
static int t_vfork_death(void)
{
	return vfork_case("death", NULL, fmt("vfork child death %d; then posix_spawn 0, status 5\n", 1000 + SIGSEGV));
}
static int t_vfork_nested(void)
{
	return vfork_case("nested", NULL, "nested: posix_spawn No such file or directory, store 7, status 0\n") ||
	       vfork_case("forkinside", NULL, "fork inside vfork: word 2, status 0\n");
}
static int t_vfork_threads(void)
{
	return vfork_case("threads", NULL, "4 threads x 25 posix_spawn pairs: 0 wrong; ticker ran during vfork: yes\n");
}
/* A VM holds at most MAX_VCPUS (250) vCPUs: a vCPU kept per vfork child would fail long before. */
static int t_vfork_loop(void)
{
	run_limit = 300;
	int rc = vfork_case("loop", "2000", "2000 posix_spawns: ok, memory bounded\n");
	run_limit = 60;
	return rc;
}
static int t_vfork_cleartid(void)
{
	return vfork_case("cleartid", NULL, "clear_child_tid after the vfork child's exit: cleared, status 0\n");
}
static int t_vfork_killed(void)
{
	return vfork_case("killed", "300", "300 vfork children killed from outside: 0 wrong; then posix_spawn 0, status 6\n");
}
static int t_vfork_policy_kill(void)
{
	char *pol = write_file("kill-getpriority.json",
			       "{\"dunePolicy\":1,\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"nr\":140,"
			       "\"name\":\"getpriority\",\"rules\":[{\"action\":\"SCMP_ACT_KILL_PROCESS\"}]}]}");
	run(&R, ((char *const[]){ dune_run, "--policy", pol, prog("vfork"), "policykill", NULL }));
	return expect(&R, 0, fmt("policy-killed vfork child %d; parent goes on: 5, posix_spawn 0, status 8\n",
				 1000 + SIGSYS));
}
/* A signal that arrives while the monitor handles the exit of a blocking call (the self-pipe
 * pattern of gdb's SIGCHLD: handler writes, poll waits) runs its handler before the host poll
 * blocks; the old monitor lost it in one of a few thousand rounds and hung. */
static int t_signal_window(void)
{
	run(&R, DUNE(prog("sigwindow"), "5000"));
	return expect(&R, 0, "5000 signals seen by 5000 polls\n5000 writes made, none interrupted\n");
}

static int t_signals(void)
{
	run(&R, DUNE(prog("signals")));
	return expect(&R, 0, "segv recovered on altstack\nusr1 handled\nalarm interrupted read\nmask respected\n");
}
static int t_shadow(void) { run(&R, DUNE(prog("shadow"))); return expect(&R, 0, "shadow ok\n"); }
static int t_fexec(void) { run(&R, DUNE(prog("fexec"))); return expect(&R, 0, "fexecve-ok\nrelative-ok\n"); }
static int t_ipc(void) { run(&R, DUNE(prog("ipc"))); return expect(&R, 0, "ipc ok\n"); }
static int t_python_subprocess(void)
{
	run(&R, DUNE("/usr/bin/python3", "-c",
		     "import subprocess, threading\n"
		     "def work():\n"
		     "    for i in range(3):\n"
		     "        assert subprocess.run(['/bin/busybox', 'echo', str(i)], capture_output=True).stdout == (str(i) + '\\n').encode()\n"
		     "ts = [threading.Thread(target=work) for _ in range(3)]\n"
		     "[t.start() for t in ts]; [t.join() for t in ts]\n"
		     "try:\n"
		     "    subprocess.run(['/nonexistent/x'])\n"
		     "except FileNotFoundError:\n"
		     "    print('threads, vfork and exec errors ok')\n"));
	return expect(&R, 0, "threads, vfork and exec errors ok\n");
}
/* As inside a container: a busybox root filesystem with no libc, no
 * /dev/kvm and no dune-run; dune-run arrives as an fd, KVM as --kvm-fd. */
static int t_rootfs(void)
{
	char *root = fmt("%s/rootfs", tmp);
	if (system(fmt("mkdir -p %s/bin %s/proc && cp /bin/busybox %s/bin/ && ln -sf busybox %s/bin/sh && cp %s %s/policy",
		       root, root, root, root, allow_all, root)) != 0)
		return fail("cannot build the root filesystem");
	int o[2];
	if (pipe(o))
		return fail("pipe");
	pid_t pid = fork();
	if (pid == 0) {
		dup2(o[1], 1);
		dup2(o[1], 2);
		int self = open(dune_run, O_RDONLY);
		int kvm = open(hw_device(), O_RDWR);
		if (self < 0 || kvm < 0 || unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount("proc", fmt("%s/proc", root), "proc", 0, NULL) || chroot(root) || chdir("/"))
			_exit(100);
		char kfd[16];
		snprintf(kfd, sizeof kfd, "%d", kvm);
		char *argv[] = { "dune-run", "--kvm-fd", kfd, "--policy", "/policy", "/bin/busybox", "sh", "-c",
				 "ls / | grep -v policy | sort; sh -c 'exit 5'; echo child $?; cat /proc/self/comm; "
				 "test -e /dev/kvm || echo no-kvm-node", NULL };
		char *envp[] = { "PATH=/bin", NULL };
		fexecve(self, argv, envp);
		_exit(101);
	}
	close(o[1]);
	memset(&R, 0, sizeof R);
	size_t n = 0;
	ssize_t k;
	while ((k = read(o[0], R.out + n, sizeof R.out - 1 - n)) > 0)
		n += (size_t)k;
	close(o[0]);
	int st;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return fail("status %#x: %.400s", st, R.out);
	/* comm as the kernel and busybox make it natively: sh re-executes /proc/self/exe as "cat". */
	return strstr(R.out, "bin\nproc\nchild 5\ncat\nno-kvm-node\n") ? 0 : fail("output: %.400s", R.out);
}
/* Fault-around (src/fault_around.h): what the program sees is unchanged,
 * and memory it never touches is not charged to it wholesale. */
static int t_fa_correct(void)
{
	run(&R, DUNE(prog("faultaround"), "correct"));
	if (expect(&R, 0, "faultaround ok\n"))
		return 1;
	run(&R, DUNE("--no-fault-around", prog("faultaround"), "correct"));
	return expect(&R, 0, "faultaround ok\n");
}

static long rss_delta(char *mode)
{
	run(&R, DUNE(prog("faultaround"), mode));
	const char *at = strstr(R.out, "rss_delta_kib ");
	return R.exited && R.code == 0 && at ? atol(at + 14) : -1;
}

static int t_fa_sparse(void)
{
	/* 256 bytes, one per MiB of 256 MiB: natively 256 pages (1024 KiB). */
	long d = rss_delta("sparse");
	if (d < 0)
		return fail("no measurement: %.400s %.400s", R.out, R.err);
	if (d > 1024 + 512)
		return fail("sparse touches of 256 pages grew RssAnon by %ld KiB (native: 1024)", d);
	/* Every 16th page in order (each one where a tripwire may sit): 4096 KiB natively. */
	d = rss_delta("stride");
	if (d < 0)
		return fail("no measurement: %.400s %.400s", R.out, R.err);
	if (d > 4096 + 1024)
		return fail("every 16th page of 64 MiB grew RssAnon by %ld KiB (native: 4096)", d);
	/* 4 MiB written in order: at most one window (1 MiB) populated ahead. */
	d = rss_delta("partial");
	if (d < 0)
		return fail("no measurement: %.400s %.400s", R.out, R.err);
	if (d < 4096 || d > 4096 + 1024 + 256)
		return fail("4 MiB written in order grew RssAnon by %ld KiB (native: 4096, bound 5376)", d);
	return 0;
}

static long stat_field(const char *path, const char *key)
{
	FILE *f = fopen(path, "r");
	char buf[8192] = "";
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	const char *at = strstr(buf, fmt("\"%s\":", key));
	return at ? atol(at + strlen(key) + 3) : -1;
}

/* Tripwire hits are exits that are neither syscalls nor faults the program
 * sees. The writer is exec'd by a shell: the setting must reach it. */
static long extra_exits(char *flag)
{
	char *stats = fmt("%s/fa-stats.json", tmp);
	char *cmd = fmt("%s seq 16", prog("faultaround"));
	unlink(stats);
	if (flag)
		run(&R, DUNE(flag, "--stats", stats, "/bin/busybox", "sh", "-c", cmd));
	else
		run(&R, DUNE("--stats", stats, "/bin/busybox", "sh", "-c", cmd));
	if (expect(&R, 0, "seq ok\n"))
		return -1;
	long exits = stat_field(stats, "exits"), sys = stat_field(stats, "syscalls");
	return exits < 0 || sys < 0 ? -1 : exits - sys;
}

static int t_fa_off(void)
{
	long on = extra_exits(NULL);
	if (on < 0)
		return 1;
	/* 16 MiB in order: a handful of windows, doubling up to 1 MiB. */
	if (on < 8 || on > 64)
		return fail("fault-around on: %ld tripwire exits for 16 MiB written in order (want 8..64)", on);
	long off = extra_exits("--no-fault-around");
	if (off < 0)
		return 1;
	if (off > 2)
		return fail("--no-fault-around: still %ld exits beyond syscalls", off);
	return 0;
}

/* Guest state the monitor would write for the program (progs/guest_state.c): the result
 * must be what the kernel gives natively (SIGSEGV with the same si_code, si_addr and saved
 * RIP, or death by SIGSEGV), never the monitor's "unexpected state". */
static struct result native_gs;
static int same_as_native(char *mode, char *addr, char *kill)
{
	run(&native_gs, ((char *const[]){ prog("guest_state"), mode, addr, kill, NULL }));
	run(&R, DUNE(prog("guest_state"), mode, addr, kill));
	if (strstr(R.err, "unexpected state"))
		return fail("the monitor reported an unexpected state: %.300s", R.err);
	if (R.exited != native_gs.exited || R.code != native_gs.code || R.sig != native_gs.sig ||
	    strcmp(R.out, native_gs.out))
		return fail("dune-run: %s %d, \"%.200s\" (stderr \"%.200s\"); native: %s %d, \"%.200s\"",
			    R.exited ? "exit" : "signal", R.exited ? R.code : R.sig, R.out, R.err,
			    native_gs.exited ? "exit" : "signal", native_gs.exited ? native_gs.code : native_gs.sig,
			    native_gs.out);
	if (kill ? !R.signaled || R.sig != SIGSEGV : !strstr(R.out, "SIGSEGV"))
		return fail("no SIGSEGV: %.200s", R.out);
	return 0;
}
static int t_sigreturn_rip(void)
{
	return same_as_native("sigreturn", "0x0000800000000000", NULL) ||
	       same_as_native("sigreturn", "0xdead000000000000", NULL) ||
	       same_as_native("sigreturn", "0xffff800000001000", NULL) ||
	       same_as_native("sigreturn", "0x0000800000000000", "kill") ||
	       same_as_native("sigreturn", "0xdead000000000000", "kill");
}
static int t_handler_rip(void) { return same_as_native("handler", "0xdead000000000000", NULL); }
/* Natively the syscall entry address is kernel memory: a fetch fault there (the getpid in
 * RAX is not performed, unlike a syscall whose return RIP would be RCX). */
static int t_syscall_jump_rcx(void)
{
	return same_as_native("syscall-jump", "0xffffff8040000800", NULL) ||
	       same_as_native("syscall-jump", "0xffffff8040000800", "kill");
}

static const char *allow_but(const char *rules);
static const char *nr_rules(int nr, const char *rules);

/* Fast calls (src/fastcall.h): progs/fastcall MODE under dune-run with extra options and a
 * policy; "MODE ok" expected, the stats file's fastcalls and fastcall_sites returned. */
static int fastcall_run_n(const char *bin, const char *mode, const char *opt, const char *policy, char *n,
			  long *calls, long *sites)
{
	char *stats = fmt("%s/fastcall-stats.json", tmp);
	unlink(stats);
	const char *pol = policy ? policy : allow_all;
	if (opt)
		run(&R, ((char *const[]){ dune_run, "--policy", (char *)pol, "--stats", stats, (char *)opt, prog(bin),
					  (char *)mode, n, NULL }));
	else
		run(&R, ((char *const[]){ dune_run, "--policy", (char *)pol, "--stats", stats, prog(bin), (char *)mode,
					  n, NULL }));
	if (expect(&R, 0, fmt("%s ok\n", mode)))
		return fail("%s %s: %s", bin, mode, why);
	*calls = stat_field(stats, "fastcalls");
	*sites = stat_field(stats, "fastcall_sites");
	return 0;
}
static int fastcall_run(const char *bin, const char *mode, const char *opt, const char *policy, long *calls,
			long *sites)
{
	return fastcall_run_n(bin, mode, opt, policy, "1000", calls, sites);
}

/* Each mode calls getpid() 1000 times per process image or thread: all but the first (the
 * exit that rewrites the site) must be answered in the guest. */
static int t_fastcall_modes(void)
{
	static const struct { const char *mode; long calls; } m[] = {
		{ "loop", 999 }, { "fork", 2999 }, { "exec", 1998 }, { "mprotect", 1998 }, { "threads", 4999 },
		{ "vfork", 1999 },
	};
	const char *bins[] = { "fastcall", "fastcall-static", "fastcall-musl-static" };
	for (size_t b = 0; b < 3; b++)
		for (size_t i = 0; i < sizeof m / sizeof *m; i++) {
			long calls, sites;
			if (fastcall_run(bins[b], m[i].mode, NULL, NULL, &calls, &sites))
				return 1;
			if (calls < m[i].calls || sites < 1)
				return fail("%s %s: %ld calls answered in the guest at %ld sites (want >= %ld, >= 1)", bins[b],
					    m[i].mode, calls, sites, m[i].calls);
		}
	return 0;
}
static int t_fastcall_signals(void)
{
	long calls, sites;
	return fastcall_run("fastcall", "signals", NULL, NULL, &calls, &sites) ||
	       fastcall_run("fastcall-static", "signals", NULL, NULL, &calls, &sites) ||
	       fastcall_run("fastcall-musl-static", "signals", NULL, NULL, &calls, &sites);
}
static int t_fastcall_isolation(void)
{
	long calls, sites;
	return fastcall_run("fastcall", "isolation", NULL, NULL, &calls, &sites) ||
	       fastcall_run("fastcall-static", "isolation", NULL, NULL, &calls, &sites);
}
/* The policy first: a refused getpid is refused each time; one allowed only under an
 * argument condition (its verdict not known ahead) keeps the exit path. */
static int t_fastcall_policy(void)
{
	long calls, sites;
	char *deny = write_file("fc-deny.json", allow_but(nr_rules(SYS_getpid, "{\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13}")));
	if (fastcall_run("fastcall", "denied", NULL, deny, &calls, &sites))
		return 1;
	if (calls || sites)
		return fail("refused getpid: %ld calls answered in the guest at %ld sites", calls, sites);
	char *condpol = write_file("fc-cond.json", allow_but(nr_rules(SYS_getpid,
		"{\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"op\":\"SCMP_CMP_EQ\",\"value\":0}]},"
		"{\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1}")));
	if (fastcall_run("fastcall", "loop", NULL, condpol, &calls, &sites))
		return 1;
	return calls || sites ? fail("conditional getpid rule: %ld calls answered in the guest at %ld sites", calls, sites) : 0;
}
/* Only a whole `mov $39,%eax` is rewritten: the same bytes ending another instruction
 * (`41 b8 27 00 00 00`, mov $39,%r8d) keep the exit path and the instruction's effect. */
static int t_fastcall_prefixed(void)
{
	long calls, sites;
	if (fastcall_run("fastcall", "prefixed", NULL, NULL, &calls, &sites))
		return 1;
	return calls || sites ? fail("mov $39,%%r8d site: %ld calls answered in the guest at %ld sites", calls, sites) : 0;
}
/* --no-fastcall (passed on through exec) and --trace: every call exits. */
static int t_fastcall_off(void)
{
	long calls, sites;
	if (fastcall_run("fastcall", "exec", "--no-fastcall", NULL, &calls, &sites))
		return 1;
	if (calls || sites)
		return fail("--no-fastcall: %ld calls answered in the guest at %ld sites", calls, sites);
	/* 150 calls: the whole trace fits the runner's stderr buffer. */
	if (fastcall_run_n("fastcall", "loop", "--trace", NULL, "150", &calls, &sites))
		return 1;
	/* Every call reaches the trace (the stats count what the monitor saw). */
	long seen = stat_field(fmt("%s/fastcall-stats.json", tmp), "syscalls");
	int traced = 0;
	for (const char *at = R.err; (at = strstr(at, "] getpid(")); at++)
		traced++;
	if (calls || sites || seen < 150 || traced < 150)
		return fail("--trace: %ld calls answered in the guest, %ld calls seen by the monitor, %d getpid traced "
			    "(want 0, >= 150, >= 150)", calls, seen, traced);
	return 0;
}

/* As a container's init (PID 1 ignores signals it sends itself), a fault
 * or a policy kill must still end the process with that signal. */
static int t_pid1_fault(void)
{
	run(&R, ((char *const[]){ "/usr/bin/unshare", "-fp", "--mount-proc", dune_run, "--policy", allow_all, prog("isolation"),
				  "hlt", NULL }));
	return expect_signal(&R, SIGSEGV);
}
static int t_pid1_sigsys(void)
{
	char *pol = write_file("kill-uname1.json", allow_but(nr_rules(SYS_uname, "{\"action\":\"SCMP_ACT_KILL_PROCESS\"}")));
	run(&R, ((char *const[]){ "/usr/bin/unshare", "-fp", "--mount-proc", dune_run, "--policy", pol, "/bin/busybox",
				  "uname", NULL }));
	return expect_signal(&R, SIGSYS);
}
static int t_vdso(void)
{
	char *stats = fmt("%s/vdso-stats.json", tmp);
	run(&R, DUNE("--stats", stats, prog("vdso")));
	if (expect(&R, 0, "vdso ok\n"))
		return 1;
	long exits = stat_field(stats, "exits");
	/* 10000 clock_gettime calls must not be 10000 exits. */
	return exits >= 0 && exits < 2000 ? 0 : fail("%ld exits (-1: no count in %s)", exits, stats);
}
static int t_vdso_exec(void)
{
	/* Images started by execve (after a fork, and in place) take the first
	 * image's TSC probe: their time calls must still be right and exit-free. */
	char *stats = fmt("%s/vdso-exec-stats.json", tmp);
	char *cmd = fmt("%s && exec %s", prog("vdso"), prog("vdso"));
	run(&R, DUNE("--stats", stats, "/bin/busybox", "sh", "-c", cmd));
	if (expect(&R, 0, "vdso ok\nvdso ok\n"))
		return 1;
	long exits = stat_field(stats, "exits");
	/* 2 x 10000 clock_gettime calls must not be 20000 exits. */
	return exits >= 0 && exits < 4000 ? 0 : fail("%ld exits (-1: no count in %s)", exits, stats);
}
static int t_api(void)
{
	run(&R, ((char *const[]){ prog("api_test"), NULL }));
	return expect(&R, 0, "A after read 1, D after read 0, D after write 1\npage ok\napi ok (20 faults)\n");
}
static int t_api_user(void)
{
	run(&R, ((char *const[]){ prog("api_user"), prog("hello-musl-static"), NULL }));
	return expect(&R, 0, "hello from api-user\nreturned 0, exit status 7");
}
static int t_self_exe(void)
{
	run(&R, DUNE("/bin/busybox", "readlink", "/proc/self/exe"));
	return expect(&R, 0, "busybox\n") || (strstr(R.out, "dune-run") ? fail("names dune-run") : 0);
}

/* dune-run runs from a sealed memfd copy of itself: the monitor's exe and map_files name
 * that copy (never the host binary), it cannot be written, and forked and exec'd images
 * reuse it (same inode) instead of copying again. A child shell reads its parent's links
 * (a process's own /proc/PID/exe answers the program's path). */
static int t_sealed_image(void)
{
	char *script = write_file("sealed-image.sh", fmt(
		"readlink /proc/$$/exe\n"
		"a=$(busybox stat -L -c %%i /proc/$$/exe)\n"
		"b=$(busybox sh -c 'busybox stat -L -c %%i /proc/$$/exe; :')\n"
		"c=$(busybox sh -c 'exec busybox sh -c \"busybox stat -L -c %%i /proc/\\$\\$/exe; :\"')\n"
		"[ \"$a\" = \"$b\" ] && [ \"$a\" = \"$c\" ] && echo one-image\n"
		"(echo x >> /proc/$$/exe) 2>/dev/null || echo not-writable\n"
		"busybox ls -l /proc/$$/map_files/ | grep -c -F '%s'\n"
		"busybox ls -l /proc/$$/map_files/ | grep -q -F /memfd:dune-run && echo maps-memfd\n",
		dune_run));
	run(&R, DUNE("/bin/busybox", "sh", script));
	return expect(&R, 0, "/memfd:dune-run (deleted)\none-image\nnot-writable\n0\nmaps-memfd\n");
}

/* The calls the Dune module may perform in the kernel (progs/kcalls.c; kmod/syscall.c), each
 * result checked, and a blocked read interrupted by a handler, compared with a native run: on
 * the module these go through its fast path, on KVM through the monitor, same results. */
static int t_kcalls_loop(void)
{
	run(&R, DUNE(prog("kcalls"), "loop", "200"));
	return expect(&R, 0, "ok\n");
}

static int t_kcalls_restart(void)
{
	const char *modes[] = { "restart", "norestart" };
	const char *want[] = { "read: 5, handler ran 1\n", "read: -1 EINTR, handler ran 1\n" };
	for (int i = 0; i < 2; i++) {
		struct result native;
		run(&native, ((char *const[]){ prog("kcalls"), (char *)modes[i], NULL }));
		if (!native.exited || native.code || strcmp(native.out, want[i]))
			return fail("natively %s: %s", modes[i], native.out);
		run(&R, DUNE(prog("kcalls"), (char *)modes[i]));
		if (expect(&R, 0, NULL))
			return 1;
		if (strcmp(R.out, native.out))
			return fail("%s: Dune process shows %s, natively %s", modes[i], R.out, native.out);
	}
	return 0;
}

#define ISO(fn, mode, check)                                               \
	static int fn(void)                                                \
	{                                                                  \
		run(&R, DUNE(prog("isolation"), mode));                    \
		return check;                                              \
	}
ISO(t_monitor_read, "monitor-read", expect(&R, 0, "SIGSEGV\n"))
ISO(t_monitor_write, "monitor-write", expect(&R, 0, "SIGSEGV\n"))
ISO(t_read_efault, "read-efault", expect(&R, 0, "read into monitor: Bad address\n"))
ISO(t_writev_efault, "writev-efault", expect(&R, 0, "writev from monitor: Bad address\n"))
ISO(t_sendmsg_efault, "sendmsg-efault", expect(&R, 0, "sendmsg from monitor: Bad address\n"))
ISO(t_nx, "nx", expect_signal(&R, SIGSEGV))
ISO(t_hlt, "hlt", expect_signal(&R, SIGSEGV))
ISO(t_cr3, "cr3", expect_signal(&R, SIGSEGV))
ISO(t_wrmsr, "wrmsr", expect_signal(&R, SIGSEGV))
ISO(t_lgdt, "lgdt", expect_signal(&R, SIGSEGV))
ISO(t_out, "out", expect_signal(&R, SIGSEGV))
ISO(t_ud2, "ud2", expect_signal(&R, SIGILL))
ISO(t_div0, "div0", expect_signal(&R, SIGFPE))
ISO(t_int3, "int3", expect_signal(&R, SIGTRAP))
ISO(t_entry_jump, "entry-jump", expect_signal(&R, SIGSEGV))
ISO(t_ioctl, "ioctl", expect(&R, 0, "unvetted ioctl FS_IOC_GETFLAGS: Operation not permitted\n"))

/* Policies in the monitor's normalized form (libdune/README.md, "Policy format"). */
static const char *allow_but(const char *syscalls)
{
	return fmt("{\"dunePolicy\":1,\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[%s]}", syscalls);
}
static const char *nr_rules(int nr, const char *rules)
{
	return fmt("{\"nr\":%d,\"rules\":[%s]}", nr, rules);
}

static int t_policy_mkdir(void)
{
	char *pol = write_file("deny-mkdir.json",
			       allow_but(fmt("%s,%s", nr_rules(SYS_mkdir, "{\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13}"),
					     nr_rules(SYS_mkdirat, "{\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13}"))));
	char *dir = fmt("%s/should-not-exist", tmp);
	char *stats = fmt("%s/stats.json", tmp);
	run(&R, DUNE("--policy", pol, "--stats", stats, "/bin/busybox", "mkdir", dir));
	struct stat st;
	if (stat(dir, &st) == 0)
		return fail("the denied mkdir created %s", dir);
	if (R.exited != 1 || !strstr(R.err, "Permission denied"))
		return fail("wanted exit 1 with EACCES, got %d: %s", R.code, R.err);
	FILE *f = fopen(stats, "r");
	char buf[8192] = "";
	if (!f)
		return fail("no stats file");
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	if (!strstr(buf, "\"mkdir\":1") || !strstr(buf, "\"vcpus\":1") || !strstr(buf, "\"syscalls_denied\":1"))
		return fail("stats lack the denial: %s", buf);
	return 0;
}
static int t_policy_mount(void)
{
	/* Docker's default profile (which the runtime writes in this form) refuses mount;
	 * e2e/dune.bats runs it through the runtime. Here: the directory stays empty. */
	char *pol = write_file("deny-mount.json", allow_but(nr_rules(SYS_mount, "{\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1}")));
	char *stats = fmt("%s/stats2.json", tmp);
	run(&R, DUNE("--policy", pol, "--stats", stats, "/bin/busybox", "mount", "-t", "tmpfs", "none", tmp));
	if (R.code == 0)
		return fail("mount succeeded under a policy that denies it");
	FILE *f = fopen(stats, "r");
	char buf[8192] = "";
	if (f) {
		buf[fread(buf, 1, sizeof buf - 1, f)] = '\0';
		fclose(f);
	}
	return strstr(buf, "\"mount\":") ? 0 : fail("mount not counted as denied: %s", buf);
}
static int t_policy_args(void)
{
	char *pol = write_file("deny-kill9.json",
			       allow_but(nr_rules(SYS_kill, "{\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1,\"args\":[{\"index\":1,\"value\":9,\"op\":\"SCMP_CMP_EQ\"}]}")));
	run(&R, DUNE("--policy", pol, "/bin/busybox", "sh", "-c", "kill -9 $$; echo survived; kill -0 $$ && echo zero-ok"));
	return expect(&R, 0, "survived\nzero-ok\n");
}
static int t_policy_kill_process(void)
{
	char *pol = write_file("kill-uname.json", allow_but(nr_rules(SYS_uname, "{\"action\":\"SCMP_ACT_KILL_PROCESS\"}")));
	run(&R, DUNE("--policy", pol, "/bin/busybox", "uname"));
	return expect_signal(&R, SIGSYS);
}
static int t_policy_trap(void)
{
	char *pol = write_file("trap-getppid.json", allow_but(nr_rules(SYS_getppid, "{\"action\":\"SCMP_ACT_TRAP\"}")));
	run(&R, DUNE("--policy", pol, "/bin/busybox", "sh", "-c", "echo $PPID"));
	return expect_signal(&R, SIGSYS);
}
static int t_policy_log(void)
{
	char *pol = write_file("log-getpid.json", allow_but(nr_rules(SYS_getuid, "{\"action\":\"SCMP_ACT_LOG\"}")));
	run(&R, DUNE("--policy", pol, "--trace", "/bin/busybox", "id", "-u"));
	if (expect(&R, 0, "0\n"))
		return 1;
	return strstr(R.err, "getuid") && strstr(R.err, "logged by policy") ? 0 : fail("no log line: %.300s", R.err);
}
static int t_policy_default_errno(void)
{
	static const int allowed[] = { SYS_execve,	  SYS_brk,	SYS_arch_prctl, SYS_set_tid_address,
				       SYS_set_robust_list, SYS_rseq,	SYS_prlimit64,	SYS_readlink,
				       SYS_getrandom,	  SYS_mprotect, SYS_write,	SYS_exit_group,
				       SYS_getuid,	  SYS_prctl };
	char list[2048] = "";
	for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s{\"nr\":%d,\"rules\":[{\"action\":\"SCMP_ACT_ALLOW\"}]}",
			 i ? "," : "", allowed[i]);
	char *pol = write_file("errno-default.json",
			       fmt("{\"dunePolicy\":1,\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,\"syscalls\":[%s]}", list));
	run(&R, DUNE("--policy", pol, "/bin/busybox", "echo", "minimal"));
	return expect(&R, 0, "minimal\n");
}
static int t_sysnames(void)
{
	run(&R, ((char *const[]){ prog("sysnames_check"), NULL }));
	return expect(&R, 0, "0 wrong\n");
}
static int t_policy_notify(void)
{
	char *pol = write_file("notify.json", allow_but(nr_rules(SYS_read, "{\"action\":\"SCMP_ACT_NOTIFY\"}")));
	run(&R, DUNE("--policy", pol, "/bin/busybox", "true"));
	if (expect(&R, 126, NULL))
		return 1;
	/* Accepted by the parser; without the runtime's filter underneath, no listener would decide. */
	return strstr(R.err, "SCMP_ACT_NOTIFY needs a kernel seccomp filter") ? 0 : fail("unexpected message: %s", R.err);
}
static int t_policy_notify_forwarded(void)
{
	/* Under a kernel filter, a notify rule means "forward to the host": this filter allows
	 * everything and has no listener, so the call is simply made. */
	char *dir = fmt("%s/notified-dir", tmp);
	rmdir(dir);
	char *pol = write_file("notify-mkdir.json", allow_but(fmt("%s,%s", nr_rules(SYS_mkdir, "{\"action\":\"SCMP_ACT_NOTIFY\"}"),
								 nr_rules(SYS_mkdirat, "{\"action\":\"SCMP_ACT_NOTIFY\"}"))));
	run(&R, ((char *const[]){ prog("under_filter"), (char *)dune_run, "--policy", pol, "/bin/busybox", "mkdir", dir, NULL }));
	if (expect(&R, 0, NULL))
		return 1;
	struct stat st;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return fail("mkdir was not forwarded to the host: %s missing", dir);
	rmdir(dir);
	/* A call the monitor answers itself could never reach a listener: refused, named. */
	pol = write_file("notify-mmap.json", allow_but(nr_rules(SYS_mmap, "{\"action\":\"SCMP_ACT_NOTIFY\"}")));
	run(&R, ((char *const[]){ prog("under_filter"), (char *)dune_run, "--policy", pol, "/bin/busybox", "true", NULL }));
	if (expect(&R, 126, NULL))
		return 1;
	return strstr(R.err, "SCMP_ACT_NOTIFY on mmap") ? 0 : fail("message does not name mmap: %s", R.err);
}
static int t_policy_bad_json(void)
{
	char *pol = write_file("bad.json", "{\"defaultAction\": ");
	run(&R, DUNE("--policy", pol, "/bin/busybox", "true"));
	return expect(&R, 126, NULL);
}
/* dune-run has no policy of its own, and reads only the runtime's normalized form. */
static int t_policy_required(void)
{
	run(&R, ((char *const[]){ (char *)dune_run, "/bin/busybox", "true", NULL }));
	if (expect(&R, 126, NULL))
		return 1;
	if (!strstr(R.err, "no policy"))
		return fail("unexpected message: %s", R.err);
	char *pol = write_file("oci.json", "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[]}");
	run(&R, DUNE("--policy", pol, "/bin/busybox", "true"));
	if (expect(&R, 126, NULL))
		return 1;
	if (!strstr(R.err, "not a monitor policy"))
		return fail("unexpected message: %s", R.err);
	pol = write_file("no-errno.json", allow_but(nr_rules(SYS_mkdir, "{\"action\":\"SCMP_ACT_ERRNO\"}")));
	run(&R, DUNE("--policy", pol, "/bin/busybox", "true"));
	return expect(&R, 126, NULL) || (strstr(R.err, "errnoRet") ? 0 : fail("unexpected message: %s", R.err));
}
static int t_elf32(void)
{
	/* An ELFCLASS32 header is enough for the loader to refuse it. */
	unsigned char h[64] = { 0x7f, 'E', 'L', 'F', 1, 1, 1 };
	h[16] = 2, h[18] = 3;
	char *path = fmt("%s/elf32", tmp);
	FILE *f = fopen(path, "w");
	fwrite(h, 1, sizeof h, f);
	fclose(f);
	chmod(path, 0755);
	run(&R, DUNE(path));
	if (expect(&R, 126, NULL))
		return 1;
	return strstr(R.err, "32-bit") ? 0 : fail("message does not say 32-bit: %s", R.err);
}
static int t_not_found(void)
{
	run(&R, DUNE("/nonexistent/program"));
	return expect(&R, 127, NULL);
}
static int t_exec_enoent_in_sh(void)
{
	run(&R, SH("/nonexistent/prog; echo after $?"));
	return expect(&R, 0, "after 127\n");
}

/* A pty sized rows x cols (0 0: never sized, as a console before the client's first resize);
 * returns the slave, the master in *master (kept open while the slave is used). */
static int open_pty(unsigned short rows, unsigned short cols, int *master)
{
	*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0 || grantpt(*master) || unlockpt(*master))
		return -1;
	struct winsize ws = { .ws_row = rows, .ws_col = cols };
	if (ioctl(*master, TIOCSWINSZ, &ws))
		return -1;
	return open(ptsname(*master), O_RDWR | O_NOCTTY | O_CLOEXEC);
}

/* busybox sh -c SCRIPT with a rows x cols pty as stdin, natively and under dune-run: the same
 * exit status, stdout and stderr, and stdout containing want (if given). */
static struct result native_r;
static int same_as_native_on_pty(unsigned short rows, unsigned short cols, char *script, const char *want)
{
	int master, slave = open_pty(rows, cols, &master);
	if (slave < 0)
		return fail("pty: %s", strerror(errno));
	run_in(&native_r, slave, (char *const[]){ "/bin/busybox", "sh", "-c", script, NULL });
	struct winsize ws = { .ws_row = rows, .ws_col = cols }; /* the script may resize it */
	ioctl(master, TIOCSWINSZ, &ws);
	run_in(&R, slave, SH(script));
	close(slave);
	close(master);
	if (want && !strstr(native_r.out, want))
		return fail("native run: stdout lacks \"%s\": %.300s; stderr: %.300s", want, native_r.out, native_r.err);
	if (R.exited != native_r.exited || R.code != native_r.code || strcmp(R.out, native_r.out) ||
	    strcmp(R.err, native_r.err))
		return fail("%ux%u pty: dune-run exit %d, stdout \"%.300s\", stderr \"%.300s\"; native exit %d, "
			    "stdout \"%.300s\", stderr \"%.300s\"", rows, cols, R.code, R.out, R.err, native_r.code,
			    native_r.out, native_r.err);
	return 0;
}

/* stty on a terminal: TIOCGWINSZ/TIOCSWINSZ/TCGETS through the monitor, in the shell's forked
 * children and after its wait4 ended in ECHILD. On a pty nobody sized yet (a console before
 * the client's first resize), busybox stty prints the errno left by that wait4, "No child
 * processes", natively as under dune-run: that message alone is no libdune error. */
static int t_tty_size(void)
{
	if (same_as_native_on_pty(41, 101,
				  "tty >/dev/null; stty size; (stty size); stty -a | grep -o 'rows [0-9]*; columns [0-9]*';"
				  " stty rows 30 cols 90; stty size",
				  "41 101\n41 101\nrows 41; columns 101\n30 90\n"))
		return 1;
	return same_as_native_on_pty(0, 0, "tty >/dev/null; stty size; echo status $?", "status ");
}

/* ---- escape probes (progs/escape.c) ----
 * Each runs under a private copy of dune-run with a private /dev/kvm node
 * (--kvm-fd) and counters file (--container-stats-fd), as in a container;
 * those host files must come out unchanged. Modes that attack monitor
 * memory print "watch" lines: this runner, as root, reads the monitor's
 * memory through /proc/PID/mem before and after and gives the verdict. */

static char esc_run[300], esc_kvm[300], esc_stats[300];
static struct stat esc_before[3];
static char esc_verdict[512];

static int esc_setup(void)
{
	struct stat kvm;
	snprintf(esc_run, sizeof esc_run, "%s/esc-dune-run", tmp);
	snprintf(esc_kvm, sizeof esc_kvm, "%s/esc-kvm", tmp);
	snprintf(esc_stats, sizeof esc_stats, "%s/esc-dune-stats", tmp);
	unlink(esc_run); /* a fresh inode each time: no mode or xattr left from before */
	unlink(esc_kvm);
	unlink(esc_stats);
	int sfd = open(esc_stats, O_CREAT | O_RDWR | O_TRUNC, 0600);
	if (stat(hw_device(), &kvm) || mknod(esc_kvm, S_IFCHR | 0600, kvm.st_rdev) || sfd < 0 ||
	    system(fmt("cp %s %s", dune_run, esc_run)) != 0)
		return fail("cannot set up the monitor's host files in %s: %s", tmp, strerror(errno));
	close(sfd);
	const char *f[3] = { esc_run, esc_kvm, esc_stats };
	for (int i = 0; i < 3; i++)
		if (stat(f[i], &esc_before[i]))
			return fail("stat %s", f[i]);
	return 0;
}

/* What an escape changed in the monitor's host files. */
static int esc_host_changed(void)
{
	const char *f[3] = { esc_run, esc_kvm, esc_stats };
	for (int i = 0; i < 3; i++) {
		struct stat st;
		const struct stat *b = &esc_before[i];
		char x[8];
		if (stat(f[i], &st))
			return fail("%s is gone", f[i]);
		if (st.st_mode != b->st_mode || st.st_uid != b->st_uid || st.st_gid != b->st_gid)
			return fail("%s: mode %o owner %d:%d, was %o %d:%d", f[i], st.st_mode, st.st_uid, st.st_gid,
				    b->st_mode, b->st_uid, b->st_gid);
		if (getxattr(f[i], "user.dune-escape", x, sizeof x) >= 0)
			return fail("%s got the program's xattr", f[i]);
		/* The counters file is written by the monitor; only its size is bounded. */
		if (f[i] == esc_stats) {
			if (st.st_size > 1 << 20)
				return fail("%s truncated to %lld bytes", f[i], (long long)st.st_size);
			continue;
		}
		if (st.st_size != b->st_size || st.st_mtim.tv_sec != b->st_mtim.tv_sec ||
		    st.st_mtim.tv_nsec != b->st_mtim.tv_nsec)
			return fail("%s: size %lld mtime %ld, was %lld %ld", f[i], (long long)st.st_size,
				    (long)st.st_mtim.tv_sec, (long long)b->st_size, (long)b->st_mtim.tv_sec);
	}
	return system(fmt("cmp -s %s %s", dune_run, esc_run)) ? fail("%s: content changed", esc_run) : 0;
}

struct watch {
	unsigned long addr, len;
	char kind[16], arg[64];
	unsigned char *before;
	bool held; /* "robust": the host kernel held the program's list head */
};

/* "watch HEAD 8 robust TID": the robust list head the host kernel keeps for
 * the monitor thread TID, read when the probe is ready. The kernel walks
 * that list at the thread's exit, so it must never be the program's. */
static bool host_holds_robust_head(const struct watch *w)
{
	void *head = NULL;
	size_t len = 0;
	long tid = strtol(w->arg, NULL, 10);
	return syscall(SYS_get_robust_list, tid, &head, &len) == 0 && (unsigned long)head == w->addr;
}

static unsigned char *read_mem(pid_t pid, unsigned long addr, unsigned long len)
{
	unsigned char *b = calloc(1, len);
	int fd = open(fmt("/proc/%d/mem", pid), O_RDONLY);
	for (unsigned long at = 0; fd >= 0 && b && at < len; at += 4096) {
		unsigned long n = len - at < 4096 ? len - at : 4096;
		if (pread(fd, b + at, n, (off_t)(addr + at)) != (ssize_t)n)
			memset(b + at, 0, n); /* not mapped: nothing of the monitor's there */
	}
	if (fd >= 0)
		close(fd);
	return b;
}

static int count_token(const unsigned char *b, unsigned long len, const char *tok)
{
	int n = 0;
	size_t tl = strlen(tok);
	for (const unsigned char *at = b; (at = memmem(at, len - (unsigned long)(at - b), tok, tl)); at += tl)
		n++;
	return n;
}

/* The verdict on one watched range ("hit ...", "intact", "setup ..."). */
static void judge(pid_t pid, const struct watch *w, char *out, size_t cap)
{
	unsigned char *after = read_mem(pid, w->addr, w->len);
	if (!after || !w->before) {
		snprintf(out, cap, "setup cannot read /proc/%d/mem", pid);
	} else if (!strcmp(w->kind, "marker")) {
		int b = count_token(w->before, w->len, w->arg), a = count_token(after, w->len, w->arg);
		if (a > b)
			snprintf(out, cap, "hit %d more \"%s\" in monitor memory %#lx+%lu", a - b, w->arg, w->addr, w->len);
		else
			snprintf(out, cap, "intact");
	} else if (!strcmp(w->kind, "robust")) {
		if (w->held)
			snprintf(out, cap, "hit the host kernel held the program's robust list head %#lx for thread %s",
				 w->addr, w->arg);
		else
			snprintf(out, cap, "intact");
	} else if (!strcmp(w->kind, "u32")) {
		uint32_t b, a, want = (uint32_t)strtoul(w->arg, NULL, 0);
		memcpy(&b, w->before, 4);
		memcpy(&a, after, 4);
		if (b != want)
			snprintf(out, cap, "setup the word at %#lx was %#x, not %#x: the layout guess missed", w->addr, b, want);
		else if (a != b)
			snprintf(out, cap, "hit the word at %#lx went from %#x to %#x", w->addr, b, a);
		else
			snprintf(out, cap, "intact");
	} else {
		snprintf(out, cap, memcmp(w->before, after, w->len) ? "hit bytes at %#lx changed" : "intact", w->addr);
	}
	free(after);
}

/* What run_watched keeps while a probe runs. */
struct watching {
	struct watch w[8];
	int nw;
	int to_probe; /* the probe's stdin */
};

/* The probe's protocol: "watch" lines name monitor memory, "ready" asks for
 * the "before" reading and a "go", "attacked" for the verdict. */
static void on_probe_line(void *ctx, pid_t pid, const char *l)
{
	struct watching *g = ctx;
	struct watch *x = &g->w[g->nw];
	if (g->nw < 8 && sscanf(l, "watch %lx %lu %15s %63s", &x->addr, &x->len, x->kind, x->arg) >= 3 &&
	    x->len <= (1 << 20)) {
		g->nw++;
	} else if (!strncmp(l, "ready", 5)) {
		for (int j = 0; j < g->nw; j++) {
			g->w[j].before = read_mem(pid, g->w[j].addr, g->w[j].len);
			g->w[j].held = !strcmp(g->w[j].kind, "robust") && host_holds_robust_head(&g->w[j]);
		}
		if (write(g->to_probe, "go\n", 3) != 3)
			perror("write to the probe");
	} else if (!strncmp(l, "attacked", 8)) {
		snprintf(esc_verdict, sizeof esc_verdict, "intact");
		for (int j = 0; j < g->nw; j++) {
			char v[256];
			judge(pid, &g->w[j], v, sizeof v);
			if (strcmp(v, "intact") && strncmp(esc_verdict, "hit", 3))
				snprintf(esc_verdict, sizeof esc_verdict, "%s", v);
		}
		char msg[600];
		int len = snprintf(msg, sizeof msg, "%s\n", esc_verdict);
		if (write(g->to_probe, msg, (size_t)len) != len)
			perror("write to the probe");
	}
}

/* run() for escape probes: answers their "watch"/"ready"/"attacked" lines. */
static void run_watched(struct result *r, char *const argv[])
{
	int in[2];
	if (pipe2(in, O_CLOEXEC)) {
		perror("pipe");
		exit(2);
	}
	struct watching g = { .nw = 0, .to_probe = in[1] };
	esc_verdict[0] = 0;
	run_lines(r, in[0], argv, on_probe_line, &g);
	close(in[0]);
	close(in[1]);
	for (int j = 0; j < g.nw; j++)
		free(g.w[j].before);
}

/* One probe: blocked (exit 0), the monitor alive and sane, its memory and
 * host files as before. */
static int escape(const char *mode)
{
	if (esc_setup())
		return 1;
	int kfd = open(esc_kvm, O_RDWR), sfd = open(esc_stats, O_RDWR);
	if (kfd < 0 || sfd < 0)
		return fail("cannot open %s / %s: %s", esc_kvm, esc_stats, strerror(errno));
	char k[16], s[16];
	snprintf(k, sizeof k, "%d", kfd);
	snprintf(s, sizeof s, "%d", sfd);
	run_watched(&R, (char *const[]){ esc_run, "--kvm-fd", k, "--container-stats-fd", s, "--policy", allow_all, prog("escape"), (char *)mode,
					 esc_run, esc_kvm, esc_stats, NULL });
	close(kfd);
	close(sfd);
	if (!strncmp(esc_verdict, "hit", 3))
		return fail("%s; stdout: %.600s", esc_verdict, R.out);
	if (strstr(R.err, "unexpected state"))
		return fail("the monitor: %.300s", R.err);
	if (!R.exited || R.code != 0) {
		const char *last = strstr(R.out, "ESCAPED: ");
		if (!last)
			last = strstr(R.out, "setup failed: ");
		return fail("%s %d: %.1200s; stderr: %.300s", R.exited ? "exit" : "signal", R.exited ? R.code : R.sig,
			    last ? last : R.out, R.err);
	}
	return expect(&R, 0, "blocked: ") || esc_host_changed();
}

#define ESCAPE(fn, mode) \
	static int fn(void) { return escape(mode); }
ESCAPE(t_escape_procmem_read, "procmem-read")
ESCAPE(t_escape_procmem_write, "procmem-write")
ESCAPE(t_escape_procmem_paths, "procmem-paths")
ESCAPE(t_escape_scm_rights, "scm-rights")
ESCAPE(t_escape_procfd_reopen, "procfd-reopen")
ESCAPE(t_escape_procfd_metadata, "procfd-metadata")
ESCAPE(t_escape_uaf_munmap, "uaf-read-munmap")
ESCAPE(t_escape_uaf_mremap_shrink, "uaf-read-mremap-shrink")
ESCAPE(t_escape_uaf_mremap_move, "uaf-read-mremap-move")
ESCAPE(t_escape_uaf_mremap_grow, "uaf-read-mremap-grow")
ESCAPE(t_escape_uaf_shmdt, "uaf-read-shmdt")
ESCAPE(t_escape_uaf_vfork_munmap, "uaf-read-vfork-munmap")
ESCAPE(t_escape_uaf_munmap_vfork_reader, "uaf-read-munmap-by-parent")
ESCAPE(t_escape_ctid, "ctid-after-unmap")
ESCAPE(t_escape_robust_list, "robust-list")
ESCAPE(t_escape_df_sockaddr, "doublefetch-sockaddr")
ESCAPE(t_escape_df_getsockopt, "doublefetch-getsockopt")
ESCAPE(t_escape_thread_leak, "thread-leak")
ESCAPE(t_escape_sigreturn, "sigreturn-noncanonical")
ESCAPE(t_escape_entry_rcx, "syscall-entry-badrcx")
ESCAPE(t_escape_self_exe, "self-exe-paths")


/* ---- monitor calls: libdune/monitor-calls.txt against what dune-run really calls ----
 * The runtime's kernel filter under a Dune process allows the monitor's own calls
 * (monitor-calls.txt) and what the container's policy allows. Each program here runs
 * twice: first under a policy that logs every call, which gives the calls the program
 * itself makes (its minimal profile); then with that minimal profile as the monitor's policy
 * (everything else EPERM) under a kernel filter of exactly monitor-calls.txt plus those calls,
 * SCMP_ACT_KILL_PROCESS for anything else. A host call of dune-run's missing from the list
 * kills it with SIGSYS. */
static int syscall_number(const char *name)
{
	for (int nr = 0; nr < SYSCALL_MAX; nr++)
		if (sys_name(nr) && !strcmp(sys_name(nr), name))
			return nr;
	return -1;
}

static int read_monitor_calls(bool allowed[SYSCALL_MAX])
{
	char *path = fmt("%s/monitor-calls.txt", srcdir);
	FILE *f = fopen(path, "r");
	if (!f)
		return fail("%s: %s", path, strerror(errno));
	char line[256];
	int n = 0;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, " \t\r\n")] = 0;
		if (!line[0] || line[0] == '#')
			continue;
		int nr = syscall_number(line);
		if (nr < 0) {
			fclose(f);
			return fail("%s: \"%s\" is no x86-64 syscall", path, line);
		}
		allowed[nr] = true;
		n++;
	}
	fclose(f);
	return n > 20 ? 0 : fail("%s lists only %d calls", path, n);
}

static int monitor_calls(const char *label, char *const argv[], int want_code, const char *want_out)
{
	/* 1: the program's own calls, from the monitor's trace of a policy that logs them all. */
	char *log_pol = write_file("log-all.json", "{\"dunePolicy\":1,\"defaultAction\":\"SCMP_ACT_LOG\",\"syscalls\":[]}");
	char trace[512];
	snprintf(trace, sizeof trace, "%s/calls-%s.log", tmp, label);
	int tfd = open(trace, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
	if (tfd < 0 || dup2(tfd, 60) < 0)
		return fail("%s: %s", trace, strerror(errno));
	close(tfd);
	char *args[32];
	int n = 0;
	args[n++] = dune_run;
	args[n++] = "--policy";
	args[n++] = log_pol;
	args[n++] = "--trace-fd";
	args[n++] = "60";
	for (int i = 0; argv[i] && n < 30; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	run(&R, args);
	close(60);
	if (expect(&R, want_code, want_out))
		return 1;
	bool own[SYSCALL_MAX] = { false };
	FILE *f = fopen(trace, "r");
	if (!f)
		return fail("%s: %s", trace, strerror(errno));
	char line[512];
	int calls = 0;
	while (fgets(line, sizeof line, f)) {
		char name[64];
		if (!strstr(line, "logged by policy") || sscanf(line, "[dune %*d] %63[a-z0-9_](", name) != 1)
			continue;
		int nr = syscall_number(name);
		if (nr >= 0 && !own[nr])
			own[nr] = true, calls++;
	}
	fclose(f);
	if (calls == 0)
		return fail("no call logged in %s", trace);
	/* Calls that do not return to the program leave no trace line: the ones every program
	 * here makes at its end or to run another image. */
	own[SYS_exit] = own[SYS_exit_group] = own[SYS_execve] = own[SYS_execveat] = true;
	/* Calls made or not depending on timing (lock contention, interrupted sleeps): a profile
	 * for these programs lists them, one run need not show them. */
	own[SYS_futex] = own[SYS_sched_yield] = own[SYS_restart_syscall] = true;

	/* 2: that minimal profile as the policy, under a filter of monitor-calls.txt plus it. */
	bool kernel[SYSCALL_MAX] = { false };
	if (read_monitor_calls(kernel))
		return 1;
	static char pol[65536], only[8192];
	snprintf(pol, sizeof pol, "{\"dunePolicy\":1,\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,\"syscalls\":[");
	only[0] = 0;
	for (int nr = 0, first = 1; nr < SYSCALL_MAX; nr++) {
		if (own[nr]) {
			snprintf(pol + strlen(pol), sizeof pol - strlen(pol), "%s{\"nr\":%d,\"rules\":[{\"action\":\"SCMP_ACT_ALLOW\"}]}",
				 first ? "" : ",", nr);
			first = 0;
		}
		if (own[nr] || kernel[nr])
			snprintf(only + strlen(only), sizeof only - strlen(only), "%s%d", only[0] ? "," : "", nr);
	}
	snprintf(pol + strlen(pol), sizeof pol - strlen(pol), "]}");
	char *min_pol = write_file(fmt("minimal-%s.json", label), pol);
	n = 0;
	args[n++] = prog("under_filter");
	args[n++] = "--only";
	args[n++] = only;
	args[n++] = dune_run;
	args[n++] = "--policy";
	args[n++] = min_pol;
	for (int i = 0; argv[i] && n < 30; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	run(&R, args);
	if (R.signaled && R.sig == SIGSYS)
		return fail("killed by the kernel filter: dune-run made a host call missing from monitor-calls.txt "
			    "(strace -f the first run to see which); stderr: %.300s",
			    R.err);
	if (!expect(&R, want_code, want_out))
		return 0;
	/* Name what the minimal profile refused (a call the first run did not make). */
	static struct result first;
	first = R;
	memmove(args + 7, args + 6, sizeof(char *) * (size_t)(n - 5));
	args[6] = "--trace";
	run(&R, args);
	char denied[1024] = "";
	for (char *l = strtok(R.err, "\n"); l; l = strtok(NULL, "\n"))
		if (strstr(l, "denied by policy") && strlen(denied) + strlen(l) + 2 < sizeof denied)
			strcat(strcat(denied, l), "\n");
	return fail("with its minimal profile: exit %d signal %d, stdout %.200s stderr %.200s; denied: %s", first.code,
		    first.sig, first.out, first.err, denied[0] ? denied : "nothing");
}

static int t_monitor_calls_static(void)
{
	return monitor_calls("static", (char *[]){ prog("hello-musl-static"), "static-musl", NULL }, 0, "hello from static-musl\n");
}
static int t_monitor_calls_dynamic(void)
{
	return monitor_calls("dynamic", (char *[]){ prog("hello-musl"), "musl", "5", NULL }, 5, "hello from musl\n");
}
static int t_monitor_calls_threads(void)
{
	return monitor_calls("threads", (char *[]){ prog("threads"), NULL }, 0, "counter=80000 tls_sum=80006\n");
}
static int t_monitor_calls_forkexec(void)
{
	return monitor_calls("forkexec", (char *[]){ prog("forkexec"), NULL }, 0, "forkexec ok\n") ||
	       monitor_calls("forkexec-static", (char *[]){ prog("forkexec-static"), NULL }, 0, "forkexec ok\n");
}
static int t_monitor_calls_signals(void)
{
	return monitor_calls("signals", (char *[]){ prog("signals"), NULL }, 0,
			     "segv recovered on altstack\nusr1 handled\nalarm interrupted read\nmask respected\n") ||
	       monitor_calls("threadlife", (char *[]){ prog("threadlife"), "join", NULL }, 0,
			     "joined 800 threads, 50 more in a forked child\n") ||
	       monitor_calls("fexec", (char *[]){ prog("fexec"), NULL }, 0, "fexecve-ok\nrelative-ok\n");
}
static int t_monitor_calls_vfork(void)
{
	return monitor_calls("vfork", (char *[]){ prog("vfork"), "threads", NULL }, 0,
			     "4 threads x 25 posix_spawn pairs: 0 wrong; ticker ran during vfork: yes\n");
}
static int t_monitor_calls_shell(void)
{
	/* busybox sh forking a sleep and a pipeline (issue 11: "sleep: Permission denied"). */
	return monitor_calls("shell", (char *[]){ "/bin/busybox", "sh", "-c", "sleep 0.1; echo piped | cat; kill -0 $$ && echo done", NULL },
			     0, "piped\ndone\n");
}

/* ---- ptrace: a tracer inside a Dune process traces its Dune children ---- */

/* progs/tracer.c natively and as a Dune process: the same checks hold (syscall stops with the
 * guest's numbers and arguments, PEEKDATA of program memory, GETREGS rip in the program,
 * SETREGS changing the call, POKEDATA of the program's message); under Dune no KVM ioctl is
 * seen, and PEEK/POKE of the tracee's monitor memory (really mapped there) fail with EIO. */
static int tracer_checks(char *mode)
{
	static const char *const both[] = {
		"first stop: SIGTRAP after exec\n", "peek at the exec stop: matches\n",
		"write entry: fd 1, buffer is the message, length 22, peek matches\n",
		"rip in the program's text: yes\n", "write exit: rax 22\n", "peek 0x200000000000: EIO\n",
		"poke 0x200000000000: EIO\n", "peek 0xffffff8000000000: EIO\n", "poke 0xffffff8000000000: EIO\n",
		"poke message: ok\n", "setregs: ok\n", "getpid exit: rax is the tracee: yes\n",
		"tracee: getppid returned my pid\n", "hello from the tracee\n", "HELLO from the tracee\n",
		"syscall entries: many, ioctl entries: 0, exit_group seen: 1, last: 231\n", "tracee ended: exit 0\n",
	};
	static struct result native;
	run(&native, ((char *const[]){ prog("tracer"), mode, NULL }));
	run(&R, DUNE(prog("tracer"), mode));
	for (size_t i = 0; i < sizeof both / sizeof both[0]; i++) {
		if (!strstr(native.out, both[i]))
			return fail("native run lacks \"%s\": %.600s", both[i], native.out);
		if (!strstr(R.out, both[i]))
			return fail("dune-run lacks \"%s\": %.900s; stderr %.300s", both[i], R.out, R.err);
	}
	if (!strstr(R.out, "peek monitor image: EIO\npoke monitor image: EIO\nstop area mapped: yes\n"))
		return fail("the monitor's memory was not refused: %.900s", R.out);
	return expect(&R, 0, NULL);
}

static int t_ptrace_tracer(void) { return tracer_checks(NULL); }

/* The same tracer waiting with waitid: its stops are translated too. */
static int t_ptrace_tracer_waitid(void) { return tracer_checks("waitid"); }

/* PTRACE_ATTACH to a running Dune child (progs/tracer.c attach): SIGSTOP stop, then a syscall
 * stop at the guest's getppid, detach leaves it running; the same output as natively. */
static int t_ptrace_attach(void)
{
	static const char want[] = "attach stop: SIGSTOP\nafter attach: syscall stop, call getppid\ndetach: ok\n"
				   "running after detach: yes\nkilled: yes\n";
	static struct result native;
	run(&native, ((char *const[]){ prog("tracer"), "attach", NULL }));
	if (strcmp(native.out, want))
		return fail("native run: %.400s", native.out);
	run(&R, DUNE(prog("tracer"), "attach"));
	if (strcmp(R.out, want))
		return fail("dune-run: %.400s; stderr %.300s", R.out, R.err);
	return expect(&R, 0, NULL);
}

/* Registers at a stop the monitor did not make (a signal's delivery to a child that only
 * computes): the guest's rip in its loop, as natively (progs/tracer.c interrupt). */
static int t_ptrace_signal_regs(void)
{
	static const char want[] = "signal stop: SIGWINCH, rip in the loop: yes\n";
	static struct result native;
	run(&native, ((char *const[]){ prog("tracer"), "interrupt", NULL }));
	if (strcmp(native.out, want))
		return fail("native run: %.400s", native.out);
	run(&R, DUNE(prog("tracer"), "interrupt"));
	if (strcmp(R.out, want))
		return fail("dune-run: %.400s; stderr %.300s", R.out, R.err);
	return expect(&R, 0, NULL);
}

/* A host tool the ptrace tests run as a Dune process: missing means failed, not skipped. */
static int need_tool(const char *path)
{
	if (access(path, X_OK))
		return fail("%s is missing (install it: the ptrace tests need it)", path);
	return 0;
}

static int t_ptrace_strace(void)
{
	if (need_tool("/usr/bin/strace") || need_tool("/bin/sh"))
		return 1;
	char *log = fmt("%s/strace.log", tmp);
	unlink(log);
	run(&R, DUNE("/usr/bin/strace", "-f", "-o", log, "/bin/sh", "-c", "echo hi; ls /"));
	static char trace[1 << 20];
	FILE *f = fopen(log, "r");
	size_t n = f ? fread(trace, 1, sizeof trace - 1, f) : 0;
	trace[n] = 0;
	if (f)
		fclose(f);
	static const char *const has[] = {
		"execve(\"/bin/sh\", [\"/bin/sh\", \"-c\", \"echo hi; ls /\"]", "write(1, \"hi\\n\", 3",
		"execve(\"/usr/bin/ls\", [\"ls\", \"/\"]", "exit_group(0)", "+++ exited with 0 +++",
		"--- SIGCHLD", "wait4(-1,",
	};
	for (size_t i = 0; i < sizeof has / sizeof has[0]; i++)
		if (!strstr(trace, has[i]))
			return fail("strace output lacks '%s': %.1500s; stderr %.300s", has[i], trace, R.err);
	if (strstr(trace, "KVM_") || strstr(trace, "tgkill(") || strstr(R.err, "Stray"))
		return fail("strace saw the monitor's own calls or lost track: %.300s %.1500s", R.err, trace);
	return expect(&R, 0, "hi\n");
}

/* gdb on a PIE, dynamic program: it places the program and its libraries with the tracee's
 * /proc/PID/auxv, which the tracer's monitor serves from the tracee's stop area. */
static int t_ptrace_gdb_pie(void)
{
	if (need_tool("/usr/bin/gdb"))
		return 1;
	run(&R, DUNE("/usr/bin/gdb", "-nx", "-batch", "-ex", "break square", "-ex", "run", "-ex", "bt", "-ex",
		     "info sharedlibrary", "-ex", "finish", "-ex", "continue", prog("debuggee-pie")));
	static const char *const has[] = {
		"Breakpoint 1, square (x=7) at", "#0  square (x=7) at", "#1  0x0000", " in main () at",
		"/libc.so.6\n", "Value returned is $1 = 49", "square: 49\n", "exited normally]",
	};
	for (size_t i = 0; i < sizeof has / sizeof has[0]; i++)
		if (!strstr(R.out, has[i]))
			return fail("gdb output lacks '%s': %.1500s; stderr %.500s", has[i], R.out, R.err);
	return expect(&R, 0, NULL);
}

/* gdb -p: attach to a running Dune process (PIE, dynamic, sleeping in libc), backtrace through
 * libc into the program, detach; KVM's own worker thread in the process is no obstacle. */
static int t_ptrace_gdb_attach(void)
{
	if (need_tool("/usr/bin/gdb"))
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0), dup2(null, 1), dup2(null, 2);
		execv(dune_run, DUNE(prog("busyloop")));
		_exit(127);
	}
	usleep(500000);
	char spid[16];
	snprintf(spid, sizeof spid, "%d", pid);
	run(&R, DUNE("/usr/bin/gdb", "-nx", "-batch", "-p", spid, "-ex", "thread 1", "-ex", "bt", "-ex", "detach",
		     prog("busyloop")));
	int st, alive = waitpid(pid, &st, WNOHANG) == 0;
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	static const char *const has[] = { " in usleep (", " in work () at ", " in main () at ", "Inferior 1 (process " };
	for (size_t i = 0; i < sizeof has / sizeof has[0]; i++)
		if (!strstr(R.out, has[i]))
			return fail("gdb output lacks '%s': %.1500s; stderr %.500s", has[i], R.out, R.err);
	if (!strstr(R.out, ") detached]") || !alive)
		return fail("not detached, or the program did not survive it: %.300s", R.out);
	return expect(&R, 0, NULL);
}

/* /proc/self/auxv is the program's vector (the host's file would be the monitor's). */
static int t_proc_self_auxv(void)
{
	static struct result native;
	run(&native, ((char *const[]){ prog("auxv"), NULL }));
	run(&R, DUNE(prog("auxv")));
	if (strcmp(native.out, "auxv entries checked: 4, equal to getauxval: 4, ends with AT_NULL: yes\n"))
		return fail("native: %.300s", native.out);
	if (strcmp(R.out, native.out))
		return fail("dune-run: %.300s; native: %.300s", R.out, native.out);
	return expect(&R, 0, NULL);
}

/* Lines of the strace log at path that start with what (strace -o, one process). */
static int count_lines(const char *path, const char *what)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int n = 0;
	while (f && fgets(line, sizeof line, f))
		n += !strncmp(line, what, strlen(what));
	if (f)
		fclose(f);
	return n;
}

/* A traced program's getpid calls all reach the tracer: fast calls (answered in the guest
 * without an exit) are held while a tracer traces it. The same count as natively. */
static int t_ptrace_strace_fastcalls(void)
{
	if (need_tool("/usr/bin/strace"))
		return 1;
	char *log = fmt("%s/strace-getpid.log", tmp);
	static struct result native;
	run(&native, ((char *const[]){ "/usr/bin/strace", "-e", "trace=getpid", "-o", log, prog("fastcall"), "loop", "50", NULL }));
	int want = count_lines(log, "getpid()");
	if (want < 50)
		return fail("native strace saw %d getpid calls: %.300s %.300s", want, native.out, native.err);
	run(&R, DUNE("/usr/bin/strace", "-e", "trace=getpid", "-o", log, prog("fastcall"), "loop", "50"));
	int got = count_lines(log, "getpid()");
	if (got != want)
		return fail("strace saw %d getpid calls under dune-run, %d natively; %.300s", got, want, R.err);
	return expect(&R, 0, "loop ok");
}

static int t_ptrace_gdb(void)
{
	if (need_tool("/usr/bin/gdb"))
		return 1;
	/* -d: the source by its path under SRC_DIR too, where the build directory is not (the VM). */
	run(&R, DUNE("/usr/bin/gdb", "-nx", "-batch", "-d", fmt("%s/tests", srcdir), "-ex", "break main", "-ex", "run", "-ex", "bt", "-ex", "next",
		     "-ex", "stepi", "-ex", "info registers rip", "-ex", "continue", prog("debuggee")));
	static const char *const has[] = {
		"Breakpoint 1, main () at", "#0  main () at", "\tprintf(\"square: %d\\n\", v);", "rip            0x4",
		"square: 49\n", "exited normally]",
	};
	for (size_t i = 0; i < sizeof has / sizeof has[0]; i++)
		if (!strstr(R.out, has[i]))
			return fail("gdb output lacks '%s': %.1500s; stderr %.500s", has[i], R.out, R.err);
	return expect(&R, 0, NULL);
}

struct test {
	const char *name;
	int (*fn)(void);
};

static const struct test tests[] = {
	{ "busybox echo", t_busybox_echo },
	{ "ptrace: a tracer sees the guest's syscalls, program memory only", t_ptrace_tracer },
	{ "ptrace: the same tracer waiting with waitid", t_ptrace_tracer_waitid },
	{ "ptrace: PTRACE_ATTACH to a running child, syscall stop, detach", t_ptrace_attach },
	{ "ptrace: registers at a signal's delivery stop are the guest's current ones", t_ptrace_signal_regs },
	{ "ptrace: strace -f of sh -c 'echo hi; ls /'", t_ptrace_strace },
	{ "ptrace: strace sees every getpid of a program with fast calls", t_ptrace_strace_fastcalls },
	{ "ptrace: gdb break main, bt, next, stepi, continue", t_ptrace_gdb },
	{ "ptrace: gdb on a PIE dynamic program: break in a function, bt, shared libraries, finish", t_ptrace_gdb_pie },
	{ "ptrace: gdb -p attaches to a running Dune process, backtrace through libc, detach", t_ptrace_gdb_attach },
	{ "/proc/self/auxv is the program's auxiliary vector", t_proc_self_auxv },
	{ "busybox sh: ls | sort | head", t_sh_pipe },
	{ "busybox sh: redirects", t_sh_redirect },
	{ "busybox sort", t_sort },
	{ "busybox find", t_find },
	{ "busybox ls and cat", t_ls_cat },
	{ "busybox sleep", t_sleep },
	{ "busybox kill", t_kill },
	{ "exit status 42", t_exit_status },
	{ "exit status of false", t_exit_false },
	{ "death by SIGTERM seen by the parent", t_exit_signal },
	{ "nested sh -c", t_nested_sh },
	{ "#! script", t_script },
	{ "userfaultfd: guest faults reach the handler; monitor ranges and inherited descriptors refused", t_uffd },
	{ "/proc/PID/cmdline, environ, comm: exact bytes, after exec, scripts, argv rewritten in place", t_identity },
	{ "glibc /bin/ls", t_glibc_ls },
	{ "python3 -c", t_python },
	{ "python3 threads + subprocess (vfork/exec from threads)", t_python_subprocess },
	{ "sendmmsg/recvmmsg, SysV shared memory", t_ipc },
	{ "fexecve and execve of a relative name", t_fexec },
	{ "musl dynamic", t_musl },
	{ "musl static", t_musl_static },
	{ "pthreads", t_threads },
	{ "threads: pthread_join after 800 threads, and in a forked child (clear_child_tid kept by the monitor)", t_thread_join },
	{ "threads: robust mutex of an ended thread -> EOWNERDEAD (after join, with a waiter)", t_thread_robust },
	{ "threads: set_tid_address, set/get_robust_list answered by the monitor", t_thread_lists },
	{ "threads: clear_child_tid at exit goes to the program's page mapped there then, as natively", t_thread_ctid_remap },
	{ "threads: process-shared robust mutex, owner's exit_group / SIGSEGV -> EOWNERDEAD", t_thread_shared_robust },
	{ "threads: 1100 create/exit cycles, bounded VmRSS/VmSize growth", t_thread_cycles },
	{ "fork/exec/wait chain (glibc dynamic)", t_forkexec },
	{ "fork/exec/wait chain (glibc static)", t_forkexec_static },
	{ "vfork: posix_spawn(p) of a missing program -> ENOENT in the parent, as natively", t_vfork_enoent },
	{ "vfork: posix_spawn of a program, waitpid gives its status, as natively", t_vfork_spawn },
	{ "vfork: the child's store and mmap are the parent's; _exit status, as natively", t_vfork_store },
	{ "vfork: a failed execve returns the error to the child, as natively", t_vfork_execfail },
	{ "vfork: the child's signal dispositions and mask are its own, as natively", t_vfork_sigaction },
	{ "vfork: a child killed by SIGSEGV leaves the parent working, as natively", t_vfork_death },
	{ "vfork: nested vfork and posix_spawn in a vfork child; fork in a vfork child, as natively", t_vfork_nested },
	{ "vfork: posix_spawn from 4 threads at once, other threads run meanwhile, as natively", t_vfork_threads },
	{ "vfork: 2000 posix_spawns in a loop (vCPUs reused, memory bounded), as natively", t_vfork_loop },
	{ "vfork: a child killed by the policy (SIGSYS) leaves the parent working", t_vfork_policy_kill },
	{ "vfork: CLONE_CHILD_SETTID/CLEARTID of a vfork child: set, cleared at its exit, as natively", t_vfork_cleartid },
	{ "vfork: 300 children SIGKILLed from outside while the parent waits (vCPUs taken back), as natively", t_vfork_killed },
	{ "signals: SIGSEGV recovery, sigaltstack, masks, EINTR", t_signals },
	{ "signals: one caught just before a host call: a blocked poll wakes (self-pipe), a write is still made", t_signal_window },
	{ "shadow paging: map/touch/unmap/fault/remap/touch, mprotect, mremap, brk", t_shadow },
	{ "/proc/self/exe names the program", t_self_exe },
	{ "monitor image: a sealed memfd copy, one per process tree, the host binary never named", t_sealed_image },
	{ "PID 1: a fault still kills with SIGSEGV", t_pid1_fault },
	{ "PID 1: SCMP_ACT_KILL_PROCESS still kills with SIGSYS", t_pid1_sigsys },
	{ "vDSO time calls: agree with the kernel, no exits", t_vdso },
	{ "vDSO after fork+execve and execve: still right, still no exits", t_vdso_exec },
	{ "API: dune_elf_load + dune_jump_to_user with a syscall handler", t_api_user },
	{ "root filesystem without libc, /dev/kvm or dune-run (fd exec, --kvm-fd)", t_rootfs },
	{ "API: dune_enter, protect/unmap seen by the guest (both sides), A/D bits, page allocator", t_api },
	{ "isolation: monitor memory read -> SIGSEGV", t_monitor_read },
	{ "isolation: monitor memory write -> SIGSEGV", t_monitor_write },
	{ "isolation: read() into monitor memory -> EFAULT", t_read_efault },
	{ "syscalls the module may perform in the kernel: results checked, bad buffers EFAULT", t_kcalls_loop },
	{ "a blocked read interrupted by a handler: SA_RESTART restarts, without it EINTR, as natively", t_kcalls_restart },
	{ "isolation: writev() iovec at monitor memory -> EFAULT", t_writev_efault },
	{ "isolation: sendmsg() msghdr at monitor memory -> EFAULT", t_sendmsg_efault },
	{ "isolation: data pages do not execute", t_nx },
	{ "isolation: hlt -> SIGSEGV", t_hlt },
	{ "isolation: mov %cr3 -> SIGSEGV", t_cr3 },
	{ "isolation: wrmsr -> SIGSEGV", t_wrmsr },
	{ "isolation: lgdt -> SIGSEGV", t_lgdt },
	{ "isolation: out -> SIGSEGV", t_out },
	{ "isolation: ud2 -> SIGILL", t_ud2 },
	{ "isolation: jump into the entry page -> SIGSEGV", t_entry_jump },
	{ "guest state: sigreturn to RIP 0x800000000000 / 0xdead000000000000 / kernel half -> SIGSEGV as natively", t_sigreturn_rip },
	{ "guest state: signal handler at a non-canonical address -> SIGSEGV as natively", t_handler_rip },
	{ "guest state: jump to the syscall entry with RCX non-canonical -> SIGSEGV as natively", t_syscall_jump_rcx },
	{ "divide by zero -> SIGFPE", t_div0 },
	{ "int3 -> SIGTRAP", t_int3 },
	{ "isolation: unvetted ioctl denied", t_ioctl },
	{ "terminal: stty size/-a/rows on a pty, sized or not, as natively", t_tty_size },
	{ "fast calls: getpid answered in the guest (glibc dynamic/static, musl), right after fork, vfork, exec, the program's own text rewrite, in threads", t_fastcall_modes },
	{ "fast calls: signals delivered inside the stub (single-stepped), getpid in the handler", t_fastcall_signals },
	{ "fast calls: the stub's pages are not the program's (EFAULT, mprotect/MAP_FIXED refused, a write faults)", t_fastcall_isolation },
	{ "fast calls: a refused getpid stays refused, a conditional rule keeps the exit path", t_fastcall_policy },
	{ "fast calls: none with --no-fastcall (through exec) or --trace", t_fastcall_off },
	{ "fast calls: the bytes of mov $39,%eax ending another instruction (mov $39,%r8d) are left alone", t_fastcall_prefixed },
	{ "fault-around: data in every access order, mprotect, munmap, fork, threads, brk (on and off)", t_fa_correct },
	{ "fault-around: sparse touches not charged wholesale; overshoot of an in-order run bounded", t_fa_sparse },
	{ "fault-around: tripwire exits on, none with --no-fault-around (passed on through exec)", t_fa_off },
	{ "policy: denied mkdir leaves no directory, counted in --stats", t_policy_mkdir },
	{ "policy: a denied mount is refused and counted", t_policy_mount },
	{ "policy: argument conditions", t_policy_args },
	{ "policy: SCMP_ACT_KILL_PROCESS -> SIGSYS", t_policy_kill_process },
	{ "policy: SCMP_ACT_TRAP -> SIGSYS", t_policy_trap },
	{ "policy: SCMP_ACT_LOG with --trace", t_policy_log },
	{ "policy: defaultAction ERRNO with a minimal allow list", t_policy_default_errno },
	{ "policy: the generated syscall table names calls by their numbers", t_sysnames },
	{ "policy: SCMP_ACT_NOTIFY refused without a kernel filter and listener underneath", t_policy_notify },
	{ "policy: SCMP_ACT_NOTIFY forwards the call to the kernel filter, refused for calls the monitor answers", t_policy_notify_forwarded },
	{ "policy: malformed JSON refused", t_policy_bad_json },
	{ "policy: required, in the runtime's normalized form only", t_policy_required },
	{ "monitor calls: a static program under monitor-calls.txt + its own calls, killed otherwise", t_monitor_calls_static },
	{ "monitor calls: a dynamic program", t_monitor_calls_dynamic },
	{ "monitor calls: threads", t_monitor_calls_threads },
	{ "monitor calls: fork and exec (dynamic and static)", t_monitor_calls_forkexec },
	{ "monitor calls: signals, a thread's life and fork, fexecve", t_monitor_calls_signals },
	{ "monitor calls: busybox sh with sleep, a pipe and kill", t_monitor_calls_shell },
	{ "monitor calls: vfork children (posix_spawn from threads)", t_monitor_calls_vfork },
	{ "32-bit ELF refused with 126", t_elf32 },
	{ "missing program -> 127", t_not_found },
	{ "execve ENOENT reaches the shell", t_exec_enoent_in_sh },
	{ "escape: /proc/self/mem read of the monitor", t_escape_procmem_read },
	{ "escape: /proc/self/mem write into the monitor", t_escape_procmem_write },
	{ "escape: /proc/*/mem path variants (//, ., task, thread-self, symlink, dirfd, another Dune process)", t_escape_procmem_paths },
	{ "escape: monitor descriptors over SCM_RIGHTS", t_escape_scm_rights },
	{ "escape: reopen of monitor files through /proc fd, map_files and exe names", t_escape_procfd_reopen },
	{ "escape: chmod/chown/truncate/utimensat/setxattr/linkat through monitor fd names", t_escape_procfd_metadata },
	{ "escape: blocked read() into a buffer another thread munmaps", t_escape_uaf_munmap },
	{ "escape: blocked read() into a buffer another thread shrinks away (mremap)", t_escape_uaf_mremap_shrink },
	{ "escape: blocked read() into a buffer another thread moves away (mremap)", t_escape_uaf_mremap_move },
	{ "escape: blocked read() into a buffer another thread grows and so moves (mremap)", t_escape_uaf_mremap_grow },
	{ "escape: blocked read() into a SysV segment another thread detaches", t_escape_uaf_shmdt },
	{ "escape: blocked read() into a buffer a vfork child munmaps", t_escape_uaf_vfork_munmap },
	{ "escape: a vfork child's blocked read() into a buffer its parent's other thread munmaps", t_escape_uaf_munmap_vfork_reader },
	{ "escape: clear_child_tid in unmapped memory at thread exit", t_escape_ctid },
	{ "escape: robust list pointing at monitor memory at thread exit", t_escape_robust_list },
	{ "escape: double fetch of the sockaddr length (getsockname/getpeername/accept/recvfrom)", t_escape_df_sockaddr },
	{ "escape: double fetch of the getsockopt length", t_escape_df_getsockopt },
	{ "escape: 1000 thread create/exit cycles stay bounded, creation works past 1100", t_escape_thread_leak },
	{ "escape: rt_sigreturn to a non-canonical RIP -> SIGSEGV", t_escape_sigreturn },
	{ "escape: syscall entry with a non-canonical RCX -> SIGSEGV", t_escape_entry_rcx },
	{ "escape: every name of /proc/self/exe is the program", t_escape_self_exe },
};

static bool name_matches(const char *name, char **filters, int n)
{
	for (int i = 0; i < n; i++)
		if (strstr(name, filters[i]))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	/* The names, one a line: for a runner that starts one process per test (e2e/vm). */
	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
			printf("%s\n", tests[i].name);
		return 0;
	}
	if (argc < 4) {
		fprintf(stderr, "usage: run_tests DUNE_RUN PROGS_DIR SRC_DIR [name-filter...] | run_tests --list\n");
		return 2;
	}
	dune_run = argv[1];
	progs = argv[2];
	srcdir = argv[3];
	/* Each further argument is a name filter: the tests whose names contain any of them run. */
	char **filters = argv + 4;
	int nfilters = argc - 4;
	snprintf(tmp, sizeof tmp, "/tmp/dune-tests.XXXXXX");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 2;
	}
	allow_all = strdup(write_file("allow-all.json", "{\"dunePolicy\":1,\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[]}"));
	/* Usable KVM, not just a node root can open. */
	int kvm = 0;
	int kfd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kfd >= 0) {
		kvm = ioctl(kfd, KVM_GET_API_VERSION, 0) == 12;
		close(kfd);
	}
	/* Or the Dune module, which dune-run and the API then use (kmod/). */
	int dfd = kvm ? -1 : open("/dev/dune", O_RDWR | O_CLOEXEC);
	if (dfd >= 0) {
		kvm = 1;
		close(dfd);
	}
	const char *allow = getenv("DUNE_ALLOW_NO_KVM");
	int skip_all = !kvm && allow && !strcmp(allow, "1");
	for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
		const struct test *t = &tests[i];
		if (nfilters && !name_matches(t->name, filters, nfilters))
			continue;
		if (!kvm) {
			if (skip_all) {
				printf("skip %s: /dev/kvm is not available (DUNE_ALLOW_NO_KVM=1)\n", t->name);
				skipped++;
			} else {
				printf("FAIL %s: /dev/kvm is not available (set DUNE_ALLOW_NO_KVM=1 to skip)\n", t->name);
				failed++;
			}
			continue;
		}
		why[0] = '\0';
		double t0 = now();
		int rc = t->fn();
		/* The time is last on the line: under emulation (e2e/vm) it decides what a run can hold. */
		if (rc == 0) {
			printf("ok   %s (%.1f s)\n", t->name, now() - t0);
			passed++;
		} else {
			printf("FAIL %s: %s (%.1f s)\n", t->name, why, now() - t0);
			failed++;
		}
		fflush(stdout);
	}
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmp);
	if (skipped)
		printf("%d skipped\n", skipped);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
