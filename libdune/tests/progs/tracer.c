/* A small tracer for the ptrace tests, the same natively and as a Dune process: it forks, the
 * child calls PTRACE_TRACEME and execs this program ("tracee"), and the parent follows it with
 * PTRACE_SYSCALL, printing one line per check ("attach": PTRACE_ATTACH to a running child;
 * "interrupt": registers at a signal's delivery stop; "waitid": the same as without arguments,
 * waiting with waitid).
 * Built static and not PIE, so both processes have the tracee's message at the same address. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

static char msg[] = "hello from the tracee\n";
extern char __executable_start[], etext[];

static int tracee(void)
{
	syscall(SYS_write, 1, msg, sizeof msg - 1);
	long r = syscall(SYS_getppid); /* the tracer makes this getpid */
	printf("tracee: getppid returned %s\n", r == getpid() ? "my pid" : "my parent");
	fflush(stdout);
	syscall(SYS_write, 1, msg, sizeof msg - 1); /* the tracer changed the message */
	return 0;
}

/* The start of the first mapping of the tracee whose line in /proc/PID/maps names what, or 0. */
static uint64_t mapping_of(pid_t pid, const char *what)
{
	char path[64], line[512];
	snprintf(path, sizeof path, "/proc/%d/maps", pid);
	FILE *f = fopen(path, "r");
	uint64_t start = 0;
	while (f && !start && fgets(line, sizeof line, f))
		if (strstr(line, what))
			start = strtoull(line, NULL, 16);
	if (f)
		fclose(f);
	return start;
}

/* At the entry of getppid: the tracee's memory outside its program is refused. Under Dune the
 * tracee's host process maps its monitor (the dune-run image, the stop area at 0x200000000000):
 * both are really there and must stay out of reach. */
static void probe_memory(pid_t pid)
{
	uint64_t image = mapping_of(pid, "dune-run");
	if (!image) {
		printf("monitor image: none\n");
	} else {
		errno = 0;
		long w = ptrace(PTRACE_PEEKDATA, pid, (void *)image, 0);
		printf("peek monitor image: %s\n", w == -1 && errno == EIO ? "EIO" : "READ");
		long rc = ptrace(PTRACE_POKEDATA, pid, (void *)image, (void *)0x4141414141414141ul);
		printf("poke monitor image: %s\n", rc == -1 && errno == EIO ? "EIO" : "WRITTEN");
	}
	printf("stop area mapped: %s\n", mapping_of(pid, "200000000000-") ? "yes" : "no");
	const uint64_t outside[] = { 0x200000000000ull /* a Dune monitor's stop area */,
				     0xffffff8000000000ull /* a Dune guest's system area */ };
	for (int i = 0; i < 2; i++) {
		errno = 0;
		long w = ptrace(PTRACE_PEEKDATA, pid, (void *)outside[i], 0);
		printf("peek %#lx: %s\n", (unsigned long)outside[i], w == -1 && errno == EIO ? "EIO" : "READ");
		long rc = ptrace(PTRACE_POKEDATA, pid, (void *)outside[i], (void *)0x4141414141414141ul);
		printf("poke %#lx: %s\n", (unsigned long)outside[i], rc == -1 && errno == EIO ? "EIO" : "WRITTEN");
	}
	long first;
	memcpy(&first, msg, sizeof first);
	memcpy(&first, "HELLO fr", 8);
	printf("poke message: %s\n", ptrace(PTRACE_POKEDATA, pid, msg, (void *)first) == 0 ? "ok" : "failed");
}

static void on_entry(pid_t pid, struct user_regs_struct *r, int *getppid_seen)
{
	if (r->orig_rax == SYS_write && r->rdi == 1 && !*getppid_seen) {
		errno = 0;
		long w = ptrace(PTRACE_PEEKDATA, pid, (void *)r->rsi, 0);
		printf("write entry: fd %llu, buffer %s, length %llu, peek %s\n", r->rdi,
		       r->rsi == (uint64_t)msg ? "is the message" : "elsewhere", r->rdx,
		       errno == 0 && !memcmp(&w, msg, 8) ? "matches" : "differs");
		printf("rip in the program's text: %s\n",
		       r->rip >= (uint64_t)__executable_start && r->rip < (uint64_t)etext ? "yes" : "no");
	}
	if (r->orig_rax == SYS_getppid) {
		*getppid_seen = 1;
		probe_memory(pid);
		r->orig_rax = SYS_getpid;
		printf("setregs: %s\n", ptrace(PTRACE_SETREGS, pid, 0, r) == 0 ? "ok" : "failed");
	}
}

/* PTRACE_ATTACH to a running child (a getppid loop): its next system call is a syscall stop. */
static int attach(void)
{
	pid_t pid = fork();
	if (pid == 0)
		for (;;)
			syscall(SYS_getppid);
	usleep(100000);
	int st;
	if (ptrace(PTRACE_ATTACH, pid, 0, 0) < 0 || waitpid(pid, &st, 0) < 0)
		return 1;
	printf("attach stop: %s\n", WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP ? "SIGSTOP" : "other");
	ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD);
	struct user_regs_struct r;
	if (ptrace(PTRACE_SYSCALL, pid, 0, 0) < 0 || waitpid(pid, &st, 0) < 0 || ptrace(PTRACE_GETREGS, pid, 0, &r) < 0)
		return 1;
	printf("after attach: %s, call %s\n", WIFSTOPPED(st) && WSTOPSIG(st) == (SIGTRAP | 0x80) ? "syscall stop" : "other",
	       r.orig_rax == SYS_getppid ? "getppid" : "other");
	printf("detach: %s\n", ptrace(PTRACE_DETACH, pid, 0, 0) == 0 ? "ok" : "failed");
	usleep(50000);
	printf("running after detach: %s\n", waitpid(pid, &st, WNOHANG) == 0 ? "yes" : "no");
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	printf("killed: %s\n", WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL ? "yes" : "no");
	return 0;
}

static volatile unsigned long spins;
__attribute__((noinline)) static void spin(void)
{
	for (;;)
		spins++;
}

/* A signal (SIGWINCH) to a child that only computes: at its delivery stop GETREGS shows the
 * guest's rip inside the loop (the monitor did not make this stop). */
static int interrupt(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0)
			_exit(100);
		raise(SIGSTOP);
		spin();
	}
	int st;
	waitpid(pid, &st, 0);
	ptrace(PTRACE_CONT, pid, 0, 0);
	usleep(200000);
	kill(pid, SIGWINCH);
	waitpid(pid, &st, 0);
	struct user_regs_struct r;
	long rc = ptrace(PTRACE_GETREGS, pid, 0, &r);
	printf("signal stop: %s, rip in the loop: %s\n", WIFSTOPPED(st) && WSTOPSIG(st) == SIGWINCH ? "SIGWINCH" : "other",
	       rc == 0 && r.rip >= (uint64_t)spin && r.rip < (uint64_t)spin + 32 ? "yes" : "no");
	kill(pid, SIGKILL);
	ptrace(PTRACE_CONT, pid, 0, 0);
	waitpid(pid, &st, 0);
	return 0;
}

/* waitpid, or waitid with the status rebuilt from its siginfo ("waitid" runs use it). */
static int use_waitid;
static int wait_for(pid_t pid, int *st)
{
	if (!use_waitid)
		return waitpid(pid, st, 0);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WSTOPPED) < 0)
		return -1;
	if (si.si_code == CLD_EXITED)
		*st = (si.si_status & 0xff) << 8;
	else if (si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED)
		*st = si.si_status & 0x7f;
	else
		*st = 0x7f | ((si.si_status & 0xffff) << 8);
	return si.si_pid;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "tracee"))
		return tracee();
	if (argc > 1 && !strcmp(argv[1], "attach"))
		return attach();
	if (argc > 1 && !strcmp(argv[1], "interrupt"))
		return interrupt();
	use_waitid = argc > 1 && !strcmp(argv[1], "waitid");
	setvbuf(stdout, NULL, _IOLBF, 0);
	pid_t pid = fork();
	if (pid == 0) {
		if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0)
			_exit(100);
		execl(argv[0], argv[0], "tracee", (char *)NULL);
		_exit(101);
	}
	int st;
	wait_for(pid, &st);
	printf("first stop: %s\n", WIFSTOPPED(st) && WSTOPSIG(st) == SIGTRAP ? "SIGTRAP after exec" : "other");
	errno = 0;
	long w0 = ptrace(PTRACE_PEEKDATA, pid, msg, 0);
	printf("peek at the exec stop: %s\n", errno == 0 && !memcmp(&w0, msg, 8) ? "matches" : "fails");
	ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD);
	int entries = 0, in_call = 0, getppid_seen = 0, ioctls = 0, last_nr = -1, exit_group = 0;
	for (;;) {
		if (ptrace(PTRACE_SYSCALL, pid, 0, 0) < 0 || wait_for(pid, &st) < 0 || !WIFSTOPPED(st))
			break;
		if (WSTOPSIG(st) != (SIGTRAP | 0x80))
			continue;
		struct user_regs_struct r;
		if (ptrace(PTRACE_GETREGS, pid, 0, &r) < 0)
			break;
		in_call = !in_call;
		if (in_call) {
			entries++;
			last_nr = (int)r.orig_rax;
			ioctls += r.orig_rax == SYS_ioctl;
			exit_group += r.orig_rax == SYS_exit_group;
			on_entry(pid, &r, &getppid_seen);
		} else if (r.orig_rax == SYS_write && r.rdi == 1 && !getppid_seen) {
			printf("write exit: rax %lld\n", (long long)r.rax);
		} else if (r.orig_rax == SYS_getpid && getppid_seen == 1) {
			printf("getpid exit: rax is the tracee: %s\n", (pid_t)r.rax == pid ? "yes" : "no");
			getppid_seen = 2;
		}
	}
	printf("syscall entries: %s, ioctl entries: %d, exit_group seen: %d, last: %d\n", entries > 5 ? "many" : "few",
	       ioctls, exit_group, last_nr);
	printf("tracee ended: %s %d\n", WIFEXITED(st) ? "exit" : "other", WIFEXITED(st) ? WEXITSTATUS(st) : st);
	return 0;
}
