/* System-call dispatch: argument checks against the program's memory, then
 * the host call. Calls the monitor cannot vet are refused (ENOSYS). */
#define _GNU_SOURCE
#include "sandbox.h"
#include "pathcalls.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/sockios.h>
#include <linux/userfaultfd.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>

#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004
#define MAX_IOV 1024

bool sb_is_monitor_fd(struct sb_proc *p, int fd)
{
	if (fd < 0)
		return false;
	int fds[8];
	int n = p->vm->hw->fds(p->vm->hw_vm, fds, 8);
	for (int i = 0; i < n; i++)
		if (fds[i] == fd)
			return true;
	if (fd == p->self_fd || fd == p->stats_fd || (p->trace && fd == p->trace_fd))
		return true;
	return vm_is_vcpu_fd(p->vm, fd); /* every thread's, and the idle ones */
}

/* Copy a NUL-terminated string out of program memory, page by page. */
static long copy_str(struct sb_proc *p, uint64_t src, char *dst, size_t max)
{
	size_t n = 0;
	while (n < max) {
		uint64_t at = src + n;
		uint64_t page_end = PAGE_DOWN(at) + PAGE_SIZE;
		if (!sb_range_ok(p, at, 1, PROT_READ))
			return -EFAULT;
		while (at < page_end && n < max) {
			char c = *(const char *)at;
			dst[n++] = c;
			if (!c)
				return 0;
			at++;
		}
	}
	return -ENAMETOOLONG;
}

#define MAX_CONTROL 8192

/* The monitor's copies of what the kernel reads from program memory more
 * than once or what the monitor decides on (copy in, copy out): strings,
 * iovecs, msghdrs and their control data, socket address lengths. */
struct scratch {
	char str[3][PATH_MAX];
	int nstr;
	struct iovec iov[MAX_IOV];
	struct msghdr msg;
	uint64_t guest_msg;
	uint64_t guest_control;     /* the program's control buffer (msghdr) */
	char control[MAX_CONTROL];  /* what the kernel reads or writes instead */
	uint32_t socklen;           /* *len of a sockaddr or socket option */
	uint64_t guest_socklen;     /* where it goes back to */
	unsigned skip;              /* arguments already replaced by copies */
};

static long check_iov(struct sb_proc *p, uint64_t guest, uint64_t count, int need, struct scratch *s)
{
	if (count > MAX_IOV)
		return -EINVAL;
	if (!sb_range_ok(p, guest, count * sizeof(struct iovec), PROT_READ))
		return -EFAULT;
	/* Validate a private copy: another thread may rewrite the original. */
	memcpy(s->iov, (void *)guest, count * sizeof(struct iovec));
	for (uint64_t i = 0; i < count; i++)
		if (!sb_range_ok(p, (uint64_t)s->iov[i].iov_base, s->iov[i].iov_len, need))
			return -EFAULT;
	return 0;
}

/* The next SCM_RIGHTS message at or after *c (NULL when none), with its
 * descriptors and their count. */
static int *next_passed_fds(struct msghdr *m, struct cmsghdr **c, size_t *n)
{
	for (; *c; *c = CMSG_NXTHDR(m, *c))
		if ((*c)->cmsg_level == SOL_SOCKET && (*c)->cmsg_type == SCM_RIGHTS && (*c)->cmsg_len >= CMSG_LEN(0)) {
			*n = ((*c)->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			int *fds = (int *)CMSG_DATA(*c);
			*c = CMSG_NXTHDR(m, *c);
			return fds;
		}
	return NULL;
}

/* Descriptors sent with SCM_RIGHTS: never one of the monitor's. */
static long check_sent_fds(struct sb_proc *p, struct msghdr *m)
{
	size_t n;
	int *fds;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); (fds = next_passed_fds(m, &c, &n));)
		for (size_t i = 0; i < n; i++)
			if (sb_is_monitor_fd(p, fds[i]))
				return -EBADF;
	return 0;
}

/* Descriptors received with SCM_RIGHTS that are monitor objects are closed
 * and the message marked truncated, as when the kernel cannot install one. */
static void check_received_fds(struct sb_proc *p, struct msghdr *m)
{
	size_t n;
	int *fds;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); (fds = next_passed_fds(m, &c, &n));)
		for (size_t i = 0; i < n; i++)
			if (fds[i] >= 0 && mobj_classify(&p->objs, fds[i]) != OBJ_PROGRAM) {
				close(fds[i]);
				fds[i] = -1;
				m->msg_flags |= MSG_CTRUNC;
			}
}

static long check_msghdr(struct sb_proc *p, uint64_t guest, int writes, struct scratch *s)
{
	if (!sb_range_ok(p, guest, sizeof(struct msghdr), writes ? PROT_WRITE : PROT_READ))
		return -EFAULT;
	memcpy(&s->msg, (void *)guest, sizeof s->msg);
	int need = writes ? PROT_WRITE : PROT_READ;
	if (s->msg.msg_name && !sb_range_ok(p, (uint64_t)s->msg.msg_name, s->msg.msg_namelen, need))
		return -EFAULT;
	s->guest_control = 0;
	if (s->msg.msg_control && s->msg.msg_controllen) {
		if (!sb_range_ok(p, (uint64_t)s->msg.msg_control, s->msg.msg_controllen, need))
			return -EFAULT;
		/* The kernel sees the monitor's copy: descriptors are checked on
		 * what is sent, and received ones before the program sees them. */
		size_t len = s->msg.msg_controllen;
		if (len > sizeof s->control) {
			if (!writes)
				return -ENOBUFS;
			len = sizeof s->control;
		}
		s->guest_control = (uint64_t)s->msg.msg_control;
		if (!writes)
			memcpy(s->control, s->msg.msg_control, len);
		s->msg.msg_control = s->control;
		s->msg.msg_controllen = len;
		if (!writes) {
			long rc = check_sent_fds(p, &s->msg);
			if (rc)
				return rc;
		}
	}
	long rc = check_iov(p, (uint64_t)s->msg.msg_iov, s->msg.msg_iovlen, need, s);
	if (rc)
		return rc;
	s->msg.msg_iov = s->iov;
	s->guest_msg = guest;
	return 0;
}

/* After a recvmsg into s->msg: what the program's msghdr gets back. */
static void finish_recvmsg(struct sb_proc *p, struct msghdr *g, struct scratch *s)
{
	if (s->guest_control) {
		check_received_fds(p, &s->msg);
		memcpy((void *)s->guest_control, s->control, s->msg.msg_controllen);
	}
	g->msg_namelen = s->msg.msg_namelen;
	g->msg_controllen = s->msg.msg_controllen;
	g->msg_flags = s->msg.msg_flags;
}

static uint64_t parse_num(const char **pp)
{
	uint64_t v = 0;
	while (isdigit((unsigned char)**pp))
		v = v * 10 + (uint64_t)(*(*pp)++ - '0');
	return v;
}

/* "s": the path is copied (a copy the program cannot change under the call) and the
 * argument points to the copy; names of /proc/self/exe become the program's path. */
static long check_path_arg(struct sb_proc *p, int dirfd, uint64_t *arg, struct scratch *s)
{
	if (s->nstr >= 3)
		return -EINVAL;
	long rc = copy_str(p, *arg, s->str[s->nstr], PATH_MAX);
	if (rc)
		return rc;
	if (sb_names_self_exe(dirfd, s->str[s->nstr]))
		snprintf(s->str[s->nstr], PATH_MAX, "%s", p->exe);
	*arg = (uint64_t)s->str[s->nstr++];
	return 0;
}

/* "r", "w", "m" (k) with "@N" or "=K" and an optional "*K" at *q (consumed): the buffer
 * a[i] is the program's, readable or writable. */
static long check_buffer_arg(struct sb_proc *p, char k, bool nullable, const char **q, const uint64_t a[6], int i)
{
	char how = *(*q)++;
	uint64_t n = parse_num(q);
	uint64_t len = how == '@' ? a[n] : n;
	if (**q == '*') {
		(*q)++;
		uint64_t mul = parse_num(q);
		if (len > UINT64_MAX / (mul ? mul : 1))
			return -EFAULT;
		len *= mul;
	}
	if (!a[i] && nullable)
		return 0;
	if (!sb_range_ok(p, a[i], len, k == 'r' ? PROT_READ : PROT_WRITE))
		return -EFAULT;
	return 0;
}

/* "a@N" at *q (consumed): a sockaddr the kernel writes, its length in *(socklen_t *)a[N]. */
static long check_sockaddr_arg(struct sb_proc *p, const char **q, uint64_t a[6], int i, struct scratch *s)
{
	(*q)++; /* '@' */
	uint64_t n = parse_num(q);
	if (!a[i])
		return 0;
	if (!a[n] || !sb_range_ok(p, a[n], 4, PROT_WRITE))
		return -EFAULT;
	/* The kernel reads the length again: it gets the copy that was
	 * checked, and the program gets the result back after the call. */
	memcpy(&s->socklen, (const void *)a[n], 4);
	if (!sb_range_ok(p, a[i], s->socklen, PROT_WRITE))
		return -EFAULT;
	s->guest_socklen = a[n];
	a[n] = (uint64_t)&s->socklen;
	s->skip |= 1u << n;
	return 0;
}

/* Argument kinds, one token per argument:
 *  i integer   f fd   d dirfd   s/S path (S: may be NULL)
 *  r/w/m buffer the kernel reads/writes/both, "@N" length in argument N or
 *        "=K" fixed, optional "*K" element size; upper case: may be NULL
 *  a@N sockaddr the kernel writes, length in *(socklen_t *)argN
 *  vr@N / vw@N iovec array, count in argument N
 *  hr / hw msghdr the kernel reads / writes */
static long check_args(struct sb_thread *t, const char *spec, uint64_t a[6], struct scratch *s)
{
	struct sb_proc *p = t->p;
	const char *q = spec;
	s->skip = 0;
	s->guest_socklen = 0;
	int dirfd = AT_FDCWD;
	for (int i = 0; i < 6 && *q; i++) {
		while (*q == ' ')
			q++;
		char k = *q++;
		if (s->skip & (1u << i)) {
			while (*q && *q != ' ')
				q++;
			continue;
		}
		bool nullable = isupper((unsigned char)k);
		k = (char)tolower((unsigned char)k);
		long rc = 0;
		switch (k) {
		case 'i':
			break;
		case 'f':
			if (sb_is_monitor_fd(p, (int)a[i]))
				return -EBADF;
			break;
		case 'd':
			if ((int)a[i] != AT_FDCWD && sb_is_monitor_fd(p, (int)a[i]))
				return -EBADF;
			dirfd = (int)a[i]; /* the next path is relative to it */
			break;
		case 's':
			if (!a[i] && nullable)
				break;
			rc = check_path_arg(p, dirfd, &a[i], s);
			break;
		case 'r':
		case 'w':
		case 'm':
			rc = check_buffer_arg(p, k, nullable, &q, a, i);
			break;
		case 'a':
			rc = check_sockaddr_arg(p, &q, a, i, s);
			break;
		case 'v': {
			char dir = *q++;
			q++; /* '@' */
			uint64_t n = parse_num(&q);
			rc = check_iov(p, a[i], a[n], dir == 'r' ? PROT_READ : PROT_WRITE, s);
			if (rc)
				return rc;
			a[i] = (uint64_t)s->iov;
			break;
		}
		case 'h':
			rc = check_msghdr(p, a[i], *q++ == 'w', s);
			if (rc)
				return rc;
			a[i] = (uint64_t)&s->msg;
			break;
		default:
			return -ENOSYS;
		}
		if (rc)
			return rc;
		while (*q && *q != ' ')
			q++;
	}
	return 0;
}

/* Calls forwarded after their arguments pass the checks. */
static const char *const specs[SYSCALL_MAX] = {
	[SYS_read] = "f w@2 i", [SYS_write] = "f r@2 i", [SYS_open] = "s i i", [SYS_close] = "f",
	[SYS_stat] = "s w=144", [SYS_fstat] = "f w=144", [SYS_lstat] = "s w=144",
	[SYS_poll] = "m@1*8 i i", [SYS_lseek] = "f i i", [SYS_pread64] = "f w@2 i i",
	[SYS_pwrite64] = "f r@2 i i", [SYS_readv] = "f vw@2 i", [SYS_writev] = "f vr@2 i",
	[SYS_access] = "s i", [SYS_pipe] = "w=8", [SYS_sched_yield] = "", [SYS_dup] = "f",
	[SYS_pause] = "", [SYS_nanosleep] = "r=16 W=16", [SYS_getitimer] = "i w=32",
	[SYS_alarm] = "i", [SYS_setitimer] = "i R=32 W=32", [SYS_getpid] = "",
	[SYS_sendfile] = "f f M=8 i", [SYS_socket] = "i i i", [SYS_connect] = "f r@2 i",
	[SYS_accept] = "f a@2 M=4", [SYS_sendto] = "f r@2 i i R@5 i", [SYS_recvfrom] = "f w@2 i i a@5 M=4",
	[SYS_sendmsg] = "f hr i", [SYS_recvmsg] = "f hw i", [SYS_shutdown] = "f i", [SYS_bind] = "f r@2 i",
	[SYS_listen] = "f i", [SYS_getsockname] = "f a@2 m=4", [SYS_getpeername] = "f a@2 m=4",
	[SYS_socketpair] = "i i i w=8", [SYS_setsockopt] = "f i i R@4 i", [SYS_getsockopt] = "f i i a@4 m=4",
	[SYS_wait4] = "i W=4 i W=144", [SYS_kill] = "i i", [SYS_uname] = "w=390",
	[SYS_flock] = "f i", [SYS_fsync] = "f", [SYS_fdatasync] = "f", [SYS_truncate] = "s i",
	[SYS_ftruncate] = "f i", [SYS_getdents] = "f w@2 i", [SYS_getcwd] = "w@1 i", [SYS_chdir] = "s",
	[SYS_fchdir] = "f", [SYS_rename] = "s s", [SYS_mkdir] = "s i", [SYS_rmdir] = "s", [SYS_creat] = "s i",
	[SYS_link] = "s s", [SYS_unlink] = "s", [SYS_symlink] = "s s", [SYS_chmod] = "s i", [SYS_fchmod] = "f i",
	[SYS_chown] = "s i i", [SYS_fchown] = "f i i", [SYS_lchown] = "s i i", [SYS_umask] = "i",
	[SYS_gettimeofday] = "W=16 W=8", [SYS_getrlimit] = "i w=16", [SYS_getrusage] = "i w=144",
	[SYS_sysinfo] = "w=112", [SYS_times] = "W=32", [SYS_getuid] = "", [SYS_getgid] = "",
	[SYS_setuid] = "i", [SYS_setgid] = "i", [SYS_geteuid] = "", [SYS_getegid] = "",
	[SYS_setpgid] = "i i", [SYS_getppid] = "", [SYS_getpgrp] = "", [SYS_setsid] = "",
	[SYS_setreuid] = "i i", [SYS_setregid] = "i i", [SYS_getgroups] = "i W@0*4", [SYS_setgroups] = "i R@0*4",
	[SYS_setresuid] = "i i i", [SYS_getresuid] = "w=4 w=4 w=4", [SYS_setresgid] = "i i i",
	[SYS_getresgid] = "w=4 w=4 w=4", [SYS_getpgid] = "i", [SYS_setfsuid] = "i", [SYS_setfsgid] = "i",
	[SYS_getsid] = "i", [SYS_capget] = "m=8 W=24", [SYS_capset] = "m=8 R=24",
	[SYS_rt_sigtimedwait] = "r@3 W=128 R=16 i", [SYS_rt_sigqueueinfo] = "i i r=128",
	[SYS_utime] = "s R=16", [SYS_mknod] = "s i i", [SYS_personality] = "i", [SYS_statfs] = "s w=120",
	[SYS_fstatfs] = "f w=120", [SYS_getpriority] = "i i", [SYS_setpriority] = "i i i",
	[SYS_sched_setparam] = "i r=4", [SYS_sched_getparam] = "i w=4", [SYS_sched_setscheduler] = "i i r=4",
	[SYS_sched_getscheduler] = "i", [SYS_sched_get_priority_max] = "i", [SYS_sched_get_priority_min] = "i",
	[SYS_sched_rr_get_interval] = "i w=16", [SYS_setrlimit] = "i r=16", [SYS_chroot] = "s", [SYS_sync] = "",
	[SYS_mount] = "S s S i S", [SYS_umount2] = "s i", [SYS_sethostname] = "r@1 i",
	[SYS_setdomainname] = "r@1 i", [SYS_pivot_root] = "s s", [SYS_gettid] = "", [SYS_readahead] = "f i i",
	[SYS_setxattr] = "s s r@3 i i", [SYS_lsetxattr] = "s s r@3 i i", [SYS_fsetxattr] = "f s r@3 i i",
	[SYS_getxattr] = "s s W@3 i", [SYS_lgetxattr] = "s s W@3 i", [SYS_fgetxattr] = "f s W@3 i",
	[SYS_listxattr] = "s W@2 i", [SYS_llistxattr] = "s W@2 i", [SYS_flistxattr] = "f W@2 i",
	[SYS_removexattr] = "s s", [SYS_lremovexattr] = "s s", [SYS_fremovexattr] = "f s",
	[SYS_tkill] = "i i", [SYS_time] = "W=8", [SYS_sched_setaffinity] = "i i r@1",
	[SYS_sched_getaffinity] = "i i w@1", [SYS_epoll_create] = "i", [SYS_getdents64] = "f w@2 i",
	[SYS_fadvise64] = "f i i i", [SYS_timer_create] = "i R=64 w=4",
	[SYS_timer_settime] = "i i r=32 W=32", [SYS_timer_gettime] = "i w=32", [SYS_timer_getoverrun] = "i",
	[SYS_timer_delete] = "i", [SYS_clock_gettime] = "i w=16", [SYS_clock_getres] = "i W=16",
	[SYS_clock_nanosleep] = "i i r=16 W=16", [SYS_epoll_wait] = "f w@2*12 i i",
	[SYS_epoll_ctl] = "f i f R=12", [SYS_tgkill] = "i i i", [SYS_utimes] = "s R=32",
	[SYS_waitid] = "i i W=128 i W=144", [SYS_inotify_init] = "", [SYS_inotify_add_watch] = "f s i",
	[SYS_inotify_rm_watch] = "f i", [SYS_openat] = "d s i i", [SYS_mkdirat] = "d s i",
	[SYS_mknodat] = "d s i i", [SYS_fchownat] = "d s i i i", [SYS_futimesat] = "d S R=32",
	[SYS_newfstatat] = "d s w=144 i", [SYS_unlinkat] = "d s i", [SYS_renameat] = "d s d s",
	[SYS_linkat] = "d s d s i", [SYS_symlinkat] = "s d s", [SYS_fchmodat] = "d s i",
	[SYS_faccessat] = "d s i", [SYS_ppoll] = "m@1*8 i R=16 R@4 i", [SYS_unshare] = "i",
	[SYS_splice] = "f M=8 f M=8 i i",
	[SYS_tee] = "f f i i", [SYS_sync_file_range] = "f i i i", [SYS_utimensat] = "d S R=32 i",
	[SYS_epoll_pwait] = "f w@2*12 i i R@5 i", [SYS_signalfd] = "f r@2 i", [SYS_timerfd_create] = "i i",
	[SYS_eventfd] = "i", [SYS_fallocate] = "f i i i", [SYS_timerfd_settime] = "f i r=32 W=32",
	[SYS_timerfd_gettime] = "f w=32", [SYS_accept4] = "f a@2 M=4 i", [SYS_signalfd4] = "f r@2 i i",
	[SYS_eventfd2] = "i i", [SYS_epoll_create1] = "i", [SYS_pipe2] = "w=8 i", [SYS_inotify_init1] = "i",
	[SYS_preadv] = "f vw@2 i i i", [SYS_pwritev] = "f vr@2 i i i", [SYS_rt_tgsigqueueinfo] = "i i i r=128",
	[SYS_prlimit64] = "i i R=16 W=16", [SYS_syncfs] = "f", [SYS_setns] = "f i", [SYS_getcpu] = "W=4 W=4 i",
	[SYS_renameat2] = "d s d s i", [SYS_getrandom] = "w@1 i i", [SYS_memfd_create] = "s i",
	[SYS_copy_file_range] = "f M=8 f M=8 i i", [SYS_preadv2] = "f vw@2 i i i i",
	[SYS_pwritev2] = "f vr@2 i i i i", [SYS_statx] = "d s i i w=256", [SYS_pidfd_open] = "i i",
	[SYS_pidfd_send_signal] = "f i R=128 i", [SYS_faccessat2] = "d s i i", [SYS_membarrier] = "i i i",
	[SYS_sched_getattr] = "i w@2 i i", [SYS_epoll_pwait2] = "f w@2*12 i R=16 R@5 i",
	[SYS_restart_syscall] = "", [SYS_shmget] = "i i i",
};

/* ioctl requests the monitor knows the argument of: size the kernel
 * reads (>0), writes (<0), or 0 for a plain integer. */
static bool ioctl_vetted(uint64_t req, long *size)
{
	switch (req) {
	case TCGETS: *size = -36; return true;
	case TCSETS: case TCSETSW: case TCSETSF: *size = 36; return true;
	case TIOCGWINSZ: *size = -8; return true;
	case TIOCSWINSZ: *size = 8; return true;
	case TIOCGPGRP: case FIONREAD: case TIOCOUTQ: case TIOCGSID: case TIOCGPTN: *size = -4; return true;
	case TIOCSPGRP: case FIONBIO: case FIOASYNC: case TIOCSPTLCK: *size = 4; return true;
	case FIOCLEX: case FIONCLEX: case TIOCSCTTY: case TIOCNOTTY: case TCFLSH: case TCXONC: case TCSBRK:
	case TIOCGPTPEER:
		*size = 0;
		return true;
	/* Network interfaces (if_nametoindex, ip, ifconfig): one struct ifreq, read and written;
	 * the kernel checks CAP_NET_ADMIN for the setters. */
	case SIOCGIFNAME: case SIOCGIFINDEX: case SIOCGIFFLAGS: case SIOCSIFFLAGS: case SIOCGIFADDR:
	case SIOCSIFADDR: case SIOCGIFDSTADDR: case SIOCGIFBRDADDR: case SIOCGIFNETMASK: case SIOCSIFNETMASK:
	case SIOCGIFMTU: case SIOCSIFMTU: case SIOCGIFHWADDR: case SIOCGIFTXQLEN: case SIOCGIFMETRIC:
		*size = -(long)sizeof(struct ifreq);
		return true;
	default:
		return false;
	}
}

/* SIOCGIFCONF carries a pointer inside its argument: the host gets a monitor-side copy of
 * struct ifconf whose buffer was checked, so the program cannot swap the pointer between
 * the check and the call. */
static long do_ifconf(struct sb_proc *p, uint64_t a[6])
{
	if (!sb_range_ok(p, a[2], sizeof(struct ifconf), PROT_READ | PROT_WRITE))
		return -EFAULT;
	struct ifconf conf;
	memcpy(&conf, (const void *)a[2], sizeof conf);
	if (conf.ifc_len < 0)
		return -EINVAL;
	if (conf.ifc_buf && !sb_range_ok(p, (uint64_t)conf.ifc_buf, (uint64_t)conf.ifc_len, PROT_WRITE))
		return -EFAULT;
	long rc = host_syscall(SYS_ioctl, a[0], SIOCGIFCONF, (uint64_t)&conf, 0, 0, 0);
	if (rc == 0)
		((struct ifconf *)a[2])->ifc_len = conf.ifc_len;
	return rc;
}

static long do_ioctl(struct sb_proc *p, uint64_t a[6])
{
	long size;
	if (sb_is_monitor_fd(p, (int)a[0]))
		return -EBADF;
	if ((a[1] & 0xffffffff) == SIOCGIFCONF)
		return do_ifconf(p, a);
	if (_IOC_TYPE(a[1] & 0xffffffff) == UFFDIO)
		return sb_uffd_ioctl(p, (int)a[0], a[1] & 0xffffffff, a[2]);
	if (!ioctl_vetted(a[1] & 0xffffffff, &size))
		return -EPERM;
	if (size && !sb_range_ok(p, a[2], (uint64_t)(size < 0 ? -size : size), size < 0 ? PROT_WRITE : PROT_READ))
		return -EFAULT;
	return sb_host_call(SYS_ioctl, a[0], a[1], a[2], 0, 0, 0);
}

static long do_fcntl(struct sb_proc *p, uint64_t a[6])
{
	if (sb_is_monitor_fd(p, (int)a[0]))
		return -EBADF;
	switch ((int)a[1]) {
	case F_DUPFD: case F_GETFD: case F_SETFD: case F_GETFL: case F_SETFL: case F_SETOWN:
	case F_GETOWN: case F_SETSIG: case F_GETSIG: case F_DUPFD_CLOEXEC: case F_SETPIPE_SZ:
	case F_GETPIPE_SZ: case F_ADD_SEALS: case F_GET_SEALS: case F_SETLEASE: case F_GETLEASE:
	case F_NOTIFY:
		break;
	case F_GETLK: case F_SETLK: case F_SETLKW: case F_OFD_GETLK: case F_OFD_SETLK: case F_OFD_SETLKW:
		if (!sb_range_ok(p, a[2], 32, PROT_WRITE))
			return -EFAULT;
		break;
	case F_GETOWN_EX:
		if (!sb_range_ok(p, a[2], 8, PROT_WRITE))
			return -EFAULT;
		break;
	case F_SETOWN_EX:
		if (!sb_range_ok(p, a[2], 8, PROT_READ))
			return -EFAULT;
		break;
	default:
		return -EINVAL;
	}
	return sb_host_call(SYS_fcntl, a[0], a[1], a[2], 0, 0, 0); /* F_SETLKW, F_OFD_SETLKW wait */
}

static long do_prctl(struct sb_proc *p, uint64_t a[6])
{
	switch ((int)a[0]) {
	case PR_SET_PDEATHSIG: case PR_GET_DUMPABLE: case PR_SET_DUMPABLE: case PR_SET_NO_NEW_PRIVS:
	case PR_GET_NO_NEW_PRIVS: case PR_SET_CHILD_SUBREAPER: case PR_GET_SECCOMP: case PR_CAPBSET_READ:
	case PR_GET_KEEPCAPS: case PR_SET_KEEPCAPS: case PR_GET_TIMERSLACK: case PR_SET_TIMERSLACK:
	case PR_SET_THP_DISABLE: case PR_GET_THP_DISABLE:
		break;
	case PR_GET_PDEATHSIG: case PR_GET_CHILD_SUBREAPER:
		if (!sb_range_ok(p, a[1], 4, PROT_WRITE))
			return -EFAULT;
		break;
	case PR_SET_NAME:
		if (!sb_range_ok(p, a[1], 16, PROT_READ))
			return -EFAULT;
		break;
	case PR_GET_NAME:
		if (!sb_range_ok(p, a[1], 16, PROT_WRITE))
			return -EFAULT;
		break;
	default:
		return -EINVAL;
	}
	return host_syscall(SYS_prctl, a[0], a[1], a[2], a[3], a[4], 0);
}

static long do_arch_prctl(struct sb_thread *t, uint64_t code, uint64_t addr)
{
	struct kvm_sregs *s = vcpu_sregs(t->vcpu);
	switch (code) {
	case ARCH_SET_FS:
	case ARCH_SET_GS:
		if (addr >= 0x800000000000ull)
			return -EPERM;
		if (code == ARCH_SET_FS)
			s->fs.base = addr;
		else
			s->gs.base = addr;
		vcpu_dirty(t->vcpu, 0, 1);
		return 0;
	case ARCH_GET_FS:
	case ARCH_GET_GS:
		if (!sb_range_ok(t->p, addr, 8, PROT_WRITE))
			return -EFAULT;
		*(uint64_t *)addr = code == ARCH_GET_FS ? s->fs.base : s->gs.base;
		return 0;
	default:
		return -EINVAL;
	}
}

static long do_futex(struct sb_proc *p, uint64_t a[6])
{
	int op = (int)a[1] & FUTEX_CMD_MASK;
	if (!sb_range_ok(p, a[0], 4, PROT_READ))
		return -EFAULT;
	switch (op) {
	case FUTEX_WAIT: case FUTEX_WAIT_BITSET: case FUTEX_LOCK_PI: case FUTEX_LOCK_PI2:
	case FUTEX_WAIT_REQUEUE_PI:
		if (a[3] && !sb_range_ok(p, a[3], 16, PROT_READ))
			return -EFAULT;
		break;
	case FUTEX_WAKE: case FUTEX_WAKE_BITSET: case FUTEX_UNLOCK_PI: case FUTEX_TRYLOCK_PI:
		break;
	case FUTEX_REQUEUE: case FUTEX_CMP_REQUEUE: case FUTEX_WAKE_OP: case FUTEX_CMP_REQUEUE_PI:
		break;
	default:
		return -ENOSYS;
	}
	if ((op == FUTEX_REQUEUE || op == FUTEX_CMP_REQUEUE || op == FUTEX_WAKE_OP ||
	     op == FUTEX_CMP_REQUEUE_PI || op == FUTEX_WAIT_REQUEUE_PI) &&
	    !sb_range_ok(p, a[4], 4, PROT_READ))
		return -EFAULT;
	return sb_host_call(SYS_futex, a[0], a[1], a[2], a[3], a[4], a[5]);
}

static long do_select(struct sb_proc *p, int nr, uint64_t a[6])
{
	int nfds = (int)a[0];
	if (nfds < 0 || nfds > 65536)
		return -EINVAL;
	uint64_t bytes = ((uint64_t)nfds + 63) / 64 * 8;
	for (int i = 1; i <= 3; i++)
		if (a[i] && !sb_range_ok(p, a[i], bytes, PROT_WRITE))
			return -EFAULT;
	if (a[4] && !sb_range_ok(p, a[4], 16, PROT_WRITE))
		return -EFAULT;
	static __thread uint64_t pair[2];
	if (nr == SYS_pselect6 && a[5]) {
		/* { const sigset_t *ss; size_t ss_len }: the kernel gets the checked copy. */
		if (!sb_range_ok(p, a[5], 16, PROT_READ))
			return -EFAULT;
		memcpy(pair, (const void *)a[5], sizeof pair);
		if (pair[0] && !sb_range_ok(p, pair[0], 8, PROT_READ))
			return -EFAULT;
		a[5] = (uint64_t)pair;
	}
	return sb_host_call(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

static long do_readlink(struct sb_proc *p, int dirfd, uint64_t path, uint64_t buf, uint64_t size)
{
	char local[PATH_MAX];
	long rc = copy_str(p, path, local, sizeof local);
	if (rc)
		return rc;
	if (dirfd != AT_FDCWD && sb_is_monitor_fd(p, dirfd))
		return -EBADF;
	if (!sb_range_ok(p, buf, size, PROT_WRITE))
		return -EFAULT;
	if (sb_names_self_exe(dirfd, local)) {
		size_t n = strlen(p->exe);
		if (n > size)
			n = size;
		memcpy((void *)buf, p->exe, n);
		return (long)n;
	}
	return host_syscall(SYS_readlinkat, (uint64_t)dirfd, (uint64_t)local, buf, size, 0, 0);
}

static long do_dup2(struct sb_proc *p, int nr, uint64_t a[6])
{
	if (sb_is_monitor_fd(p, (int)a[0]) || sb_is_monitor_fd(p, (int)a[1]))
		return -EBADF;
	return host_syscall(nr, a[0], a[1], a[2], 0, 0, 0);
}

/* close_range must skip the monitor's descriptors. */
static long do_close_range(struct sb_proc *p, uint64_t a[6])
{
	unsigned first = (unsigned)a[0], last = (unsigned)a[1];
	if (first > last)
		return -EINVAL;
	unsigned at = first;
	for (unsigned fd = first; fd <= last && fd < 65536; fd++) {
		if (!sb_is_monitor_fd(p, (int)fd))
			continue;
		if (fd > at) {
			long rc = host_syscall(SYS_close_range, at, fd - 1, a[2], 0, 0, 0);
			if (rc < 0)
				return rc;
		}
		at = fd + 1;
	}
	if (at <= last)
		return host_syscall(SYS_close_range, at, last, a[2], 0, 0, 0);
	return 0;
}

/* sendmmsg/recvmmsg: one checked sendmsg/recvmsg per message. */
static long do_mmsg(struct sb_thread *t, int nr, uint64_t a[6], struct scratch *s)
{
	struct sb_proc *p = t->p;
	unsigned vlen = (unsigned)a[2];
	if (sb_is_monitor_fd(p, (int)a[0]))
		return -EBADF;
	if (vlen > 1024)
		vlen = 1024;
	if (!sb_range_ok(p, a[1], (uint64_t)vlen * sizeof(struct mmsghdr), PROT_WRITE))
		return -EFAULT;
	if (nr == SYS_recvmmsg && a[4] && !sb_range_ok(p, a[4], 16, PROT_WRITE))
		return -EFAULT;
	struct mmsghdr *m = (struct mmsghdr *)a[1];
	long done = 0;
	for (unsigned i = 0; i < vlen; i++) {
		int recv = nr == SYS_recvmmsg;
		long rc = check_msghdr(p, (uint64_t)&m[i].msg_hdr, recv, s);
		if (!rc)
			rc = sb_host_call(recv ? SYS_recvmsg : SYS_sendmsg, a[0], (uint64_t)&s->msg,
					  a[3] & ~(uint64_t)MSG_WAITFORONE, 0, 0, 0);
		if (rc < 0)
			return done ? done : rc;
		m[i].msg_len = (unsigned)rc;
		if (recv) {
			finish_recvmsg(p, &m[i].msg_hdr, s);
			if (a[3] & MSG_WAITFORONE)
				a[3] |= MSG_DONTWAIT;
		}
		done++;
	}
	return done;
}

/* ---- SysV shared memory: attachments are mirrored like mmap ---- */

static long claim_range(struct sb_proc *p, uint64_t start, uint64_t end);

static long do_shmat(struct sb_proc *p, uint64_t a[6])
{
	struct shmid_ds ds;
	long rc = host_syscall(SYS_shmctl, a[0], IPC_STAT, (uint64_t)&ds, 0, 0, 0);
	if (rc)
		return rc;
	uint64_t size = PAGE_UP(ds.shm_segsz);
	int slot = -1;
	pthread_mutex_lock(&p->mm->lock);
	for (int i = 0; i < 64 && slot < 0; i++)
		if (!p->mm->shm[i].size)
			slot = i;
	pthread_mutex_unlock(&p->mm->lock);
	if (slot < 0)
		return -EMFILE;
	if (a[1]) {
		uint64_t at = (a[2] & SHM_RND) ? a[1] & ~(uint64_t)(SHMLBA - 1) : a[1];
		pthread_mutex_lock(&p->vm->lock);
		bool taken = region_overlaps(&p->vm->owned, at, at + size);
		pthread_mutex_unlock(&p->vm->lock);
		if (taken && !(a[2] & SHM_REMAP))
			return -EINVAL;
		rc = claim_range(p, at, at + size);
		if (rc)
			return rc;
		a[2] |= SHM_REMAP;
	}
	long ret = host_syscall(SYS_shmat, a[0], a[1], a[2], 0, 0, 0);
	if (ret < 0 && ret > -4096)
		return ret;
	int prot = (a[2] & SHM_RDONLY) ? PROT_READ : PROT_READ | PROT_WRITE;
	if (a[2] & SHM_EXEC)
		prot |= PROT_EXEC;
	vm_mirror_map(p->vm, (uint64_t)ret, size, prot);
	pthread_mutex_lock(&p->mm->lock);
	p->mm->shm[slot].addr = (uint64_t)ret;
	p->mm->shm[slot].size = size;
	pthread_mutex_unlock(&p->mm->lock);
	return ret;
}

static long do_shmdt(struct sb_proc *p, uint64_t addr)
{
	uint64_t size = 0;
	pthread_mutex_lock(&p->mm->lock);
	for (int i = 0; i < 64; i++)
		if (p->mm->shm[i].size && p->mm->shm[i].addr == addr) {
			size = p->mm->shm[i].size;
			p->mm->shm[i].size = 0;
		}
	pthread_mutex_unlock(&p->mm->lock);
	if (!size)
		return -EINVAL;
	/* Unmapping the attachment detaches it; like munmap, the range stays
	 * reserved while another thread's host call may use it. */
	vm_mirror_unmap(p->vm, addr, size);
	sb_release_range(p, addr, size);
	return 0;
}

static long do_shmctl(struct sb_proc *p, uint64_t a[6])
{
	switch ((int)a[1] & ~0x100 /* IPC_64 */) {
	case IPC_RMID: case SHM_LOCK: case SHM_UNLOCK:
		break;
	case IPC_STAT: case SHM_STAT: case SHM_STAT_ANY: case IPC_INFO: case SHM_INFO:
		if (!sb_range_ok(p, a[2], sizeof(struct shmid_ds), PROT_WRITE))
			return -EFAULT;
		break;
	case IPC_SET:
		if (!sb_range_ok(p, a[2], sizeof(struct shmid_ds), PROT_READ))
			return -EFAULT;
		break;
	default:
		return -EINVAL;
	}
	return host_syscall(SYS_shmctl, a[0], a[1], a[2], 0, 0, 0);
}

/* ---- memory ---- */

/* Make sure [start, end) holds nothing of the monitor's: every part is the
 * program's already, or free on the host (then reserved for the program). */
static long claim_range(struct sb_proc *p, uint64_t start, uint64_t end)
{
	uint64_t at = start;
	while (at < end) {
		pthread_mutex_lock(&p->vm->lock);
		const struct region *r = region_find(&p->vm->owned, at);
		uint64_t next = end;
		if (!r) {
			/* Find where the next owned region starts. */
			uint64_t probe = at;
			while (probe < end && !region_find(&p->vm->owned, probe))
				probe += PAGE_SIZE;
			next = probe;
		} else {
			next = r->end < end ? r->end : end;
		}
		pthread_mutex_unlock(&p->vm->lock);
		if (!r) {
			if (!sb_take_reserved(p, at, next)) {
				void *m = mmap((void *)at, next - at, PROT_NONE,
					       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
				if (m == MAP_FAILED)
					return -ENOMEM;
			}
			vm_mirror_map(p->vm, at, next - at, 0);
		}
		at = next;
	}
	return 0;
}

static long do_mmap(struct sb_proc *p, uint64_t a[6])
{
	uint64_t addr = a[0], len = a[1];
	int prot = (int)a[2], flags = (int)a[3];
	if (!len)
		return -EINVAL;
	if (!(flags & MAP_ANONYMOUS) && sb_is_monitor_fd(p, (int)a[4]))
		return -EBADF;
	flags &= ~MAP_GROWSDOWN;
	prot &= PROT_READ | PROT_WRITE | PROT_EXEC;
	uint64_t plen = PAGE_UP(len);
	if (plen < len)
		return -ENOMEM;
	if (flags & MAP_FIXED_NOREPLACE) {
		pthread_mutex_lock(&p->vm->lock);
		bool taken = region_overlaps(&p->vm->owned, addr, addr + plen);
		pthread_mutex_unlock(&p->vm->lock);
		if (taken)
			return -EEXIST;
	} else if (flags & MAP_FIXED) {
		if (addr & (PAGE_SIZE - 1))
			return -EINVAL;
		long rc = claim_range(p, addr, addr + plen);
		if (rc)
			return rc;
	}
	long ret = host_syscall(SYS_mmap, addr, len, (uint64_t)prot, (uint64_t)flags, a[4], a[5]);
	if (ret < 0 && ret > -4096)
		return ret;
	/* Anonymous private memory gets fault-around; anything the host may
	 * already have filled (populate, locked, huge pages) does not need it. */
	bool anon = (flags & MAP_ANONYMOUS) && (flags & MAP_TYPE) == MAP_PRIVATE &&
		    !(flags & (MAP_POPULATE | MAP_LOCKED | MAP_HUGETLB));
	int rc = anon ? vm_mirror_map_anon(p->vm, (uint64_t)ret, plen, prot)
		      : vm_mirror_map(p->vm, (uint64_t)ret, plen, prot);
	if (rc) {
		munmap((void *)ret, plen);
		vm_mirror_unmap(p->vm, (uint64_t)ret, plen);
		return -ENOMEM;
	}
	return ret;
}

static long do_munmap(struct sb_proc *p, uint64_t addr, uint64_t len)
{
	if ((addr & (PAGE_SIZE - 1)) || !len)
		return -EINVAL;
	uint64_t end = addr + PAGE_UP(len), at = addr;
	/* Only the program's own pages; unmapped parts are not an error. */
	while (at < end) {
		pthread_mutex_lock(&p->vm->lock);
		const struct region *r = region_find(&p->vm->owned, at);
		uint64_t e = r ? (r->end < end ? r->end : end) : at + PAGE_SIZE;
		pthread_mutex_unlock(&p->vm->lock);
		if (r) {
			vm_mirror_unmap(p->vm, at, e - at);
			sb_release_range(p, at, e - at);
		}
		at = e;
	}
	return 0;
}

static long do_mprotect(struct sb_proc *p, uint64_t addr, uint64_t len, int prot)
{
	if (addr & (PAGE_SIZE - 1))
		return -EINVAL;
	uint64_t plen = PAGE_UP(len);
	if (!sb_range_ok(p, addr, plen, 0))
		return -ENOMEM;
	int host_prot = prot & (PROT_READ | PROT_WRITE | PROT_EXEC);
	long rc = host_syscall(SYS_mprotect, addr, plen, (uint64_t)host_prot, 0, 0, 0);
	if (rc)
		return rc;
	vm_mirror_protect(p->vm, addr, plen, host_prot);
	return 0;
}

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

bool sb_host_mapping(uint64_t addr, struct host_mapping *out)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	char buf[4096];
	size_t have = 0;
	bool found = false;
	while (fd >= 0 && !found) {
		ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		char *line = buf, *nl;
		while (!found && (nl = strchr(line, '\n'))) {
			*nl = '\0';
			unsigned long lo, hi, ino;
			char perms[8], path[2] = "";
			if (sscanf(line, "%lx-%lx %7s %*s %*s %lu %1s", &lo, &hi, perms, &ino, path) >= 4 && addr >= lo &&
			    addr < hi) {
				out->private_ = perms[3] == 'p';
				out->anon = ino == 0 && !path[0];
				found = true;
			}
			line = nl + 1;
		}
		have -= (size_t)(line - buf);
		memmove(buf, line, have);
	}
	if (fd >= 0)
		close(fd);
	return found;
}

/* Is the mapping at addr private and anonymous? */
static bool private_anon(uint64_t addr)
{
	struct host_mapping m;
	return sb_host_mapping(addr, &m) && m.private_ && m.anon;
}

/* A move while another thread's host call may still use the old range: the
 * pages move (MREMAP_DONTUNMAP) and the old range stays mapped, then goes
 * through the reserve like munmap. Growth is added as fresh anonymous
 * memory, so only private anonymous mappings may grow this way. */
static long move_keeping_old(struct sb_proc *p, uint64_t old, uint64_t oldsz, uint64_t newsz, int flags,
			     uint64_t fixed, int prot)
{
	uint64_t keep = oldsz < newsz ? oldsz : newsz;
	if (newsz > oldsz && !private_anon(old))
		return -ENOMEM;
	uint64_t to = fixed;
	if (!(flags & MREMAP_FIXED)) {
		void *m = mmap(NULL, newsz, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (m == MAP_FAILED)
			return -ENOMEM;
		to = (uint64_t)m;
	}
	long ret = host_syscall(SYS_mremap, old, keep, keep, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, to, 0);
	if (ret < 0 && ret > -4096) {
		if (!(flags & MREMAP_FIXED))
			munmap((void *)to, newsz);
		return -ENOMEM;
	}
	/* Over its own reservation: should this fail, the tail stays PROT_NONE on
	 * the host and the program faults there (SIGBUS), nothing worse. */
	if (newsz > oldsz)
		mmap((void *)(to + oldsz), newsz - oldsz, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	sb_release_range(p, old, oldsz);
	return (long)to;
}

static long do_mremap(struct sb_proc *p, uint64_t a[6])
{
	uint64_t old = a[0], oldsz = PAGE_UP(a[1]), newsz = PAGE_UP(a[2]);
	int flags = (int)a[3];
	if ((old & (PAGE_SIZE - 1)) || !oldsz || !newsz)
		return -EINVAL;
	if (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED))
		return -EINVAL;
	if (!sb_range_ok(p, old, oldsz, 0))
		return -EFAULT;
	pthread_mutex_lock(&p->vm->lock);
	int prot = region_find(&p->vm->owned, old)->prot;
	pthread_mutex_unlock(&p->vm->lock);
	if (newsz < oldsz && !(flags & MREMAP_FIXED)) {
		/* Shrinking happens in place: the tail is released like munmap. */
		vm_mirror_unmap(p->vm, old + newsz, oldsz - newsz);
		sb_release_range(p, old + newsz, oldsz - newsz);
		return (long)old;
	}
	if (flags & MREMAP_FIXED) {
		long rc = claim_range(p, a[4], a[4] + newsz);
		if (rc)
			return rc;
	} else if (newsz > oldsz && !(flags & MREMAP_MAYMOVE)) {
		/* Growing in place must not swallow the monitor's next mapping. */
		pthread_mutex_lock(&p->vm->lock);
		bool ours = region_covers(&p->vm->owned, old + oldsz, old + newsz, 0);
		pthread_mutex_unlock(&p->vm->lock);
		if (!ours) {
			void *m = mmap((void *)(old + oldsz), newsz - oldsz, PROT_NONE,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
			if (m == MAP_FAILED)
				return -ENOMEM;
			munmap(m, newsz - oldsz);
		}
	}
	vm_mirror_unmap(p->vm, old, oldsz);
	/* A move gives the old range back to the host at once: while another
	 * thread's host call may use it, the pages move and the range is kept. */
	bool busy = (flags & (MREMAP_MAYMOVE | MREMAP_FIXED)) && sb_range_busy(p, old, oldsz);
	long ret = busy ? move_keeping_old(p, old, oldsz, newsz, flags, a[4], prot)
			: host_syscall(SYS_mremap, old, oldsz, newsz, (uint64_t)flags, a[4], 0);
	if (ret < 0 && ret > -4096) {
		vm_mirror_map(p->vm, old, oldsz, prot);
		return ret;
	}
	vm_mirror_map(p->vm, (uint64_t)ret, newsz, prot);
	return ret;
}

static long do_madvise(struct sb_proc *p, uint64_t addr, uint64_t len, int advice)
{
	if (!sb_range_ok(p, addr, PAGE_UP(len), 0))
		return -ENOMEM;
	switch (advice) {
	case MADV_DONTFORK:
	case MADV_DOFORK:
		return 0; /* fork must copy everything: the child rebuilds its VM from it */
	case MADV_NORMAL: case MADV_RANDOM: case MADV_SEQUENTIAL: case MADV_WILLNEED: case MADV_DONTNEED:
	case MADV_FREE: case MADV_REMOVE: case MADV_HUGEPAGE: case MADV_NOHUGEPAGE: case MADV_DONTDUMP:
	case MADV_DODUMP: case MADV_WIPEONFORK: case MADV_KEEPONFORK: case MADV_COLD: case MADV_PAGEOUT:
	case MADV_MERGEABLE: case MADV_UNMERGEABLE:
		return host_syscall(SYS_madvise, addr, len, (uint64_t)advice, 0, 0, 0);
	default:
		return -EINVAL;
	}
}

static long do_brk(struct sb_proc *p, uint64_t want)
{
	uint64_t release_lo = 0, release_len = 0;
	pthread_mutex_lock(&p->mm->lock);
	uint64_t cur = p->mm->brk_cur;
	if (want >= p->mm->brk_start && want < p->mm->brk_start + (1ull << 40)) {
		uint64_t old_top = PAGE_UP(cur), new_top = PAGE_UP(want);
		if (new_top > old_top) {
			void *m = mmap((void *)old_top, new_top - old_top, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
			if (m != MAP_FAILED && vm_mirror_map_anon(p->vm, old_top, new_top - old_top, PROT_READ | PROT_WRITE) == 0)
				p->mm->brk_cur = want;
			else if (m != MAP_FAILED)
				munmap(m, new_top - old_top);
		} else {
			if (new_top < old_top) {
				vm_mirror_unmap(p->vm, new_top, old_top - new_top);
				release_lo = new_top;
				release_len = old_top - new_top;
			}
			p->mm->brk_cur = want;
		}
	}
	long ret = (long)p->mm->brk_cur;
	pthread_mutex_unlock(&p->mm->lock);
	if (release_len)
		sb_release_range(p, release_lo, release_len);
	return ret;
}

static long do_range_call(struct sb_proc *p, int nr, uint64_t a[6])
{
	if (!sb_range_ok(p, PAGE_DOWN(a[0]), PAGE_UP(a[0] + a[1]) - PAGE_DOWN(a[0]), 0))
		return -ENOMEM;
	if (nr == SYS_mincore && !sb_range_ok(p, a[2], (PAGE_UP(a[1]) / PAGE_SIZE), PROT_WRITE))
		return -EFAULT;
	return host_syscall(nr, a[0], a[1], a[2], 0, 0, 0);
}

bool sb_forwarded_as_made(int nr)
{
	/* The calls sb_syscall emulates or answers (its switch) have no argument spec. */
	return nr >= 0 && nr < SYSCALL_MAX && specs[nr] && !sb_is_path_call(nr);
}

long sb_syscall(struct sb_thread *t, int nr, uint64_t a[6], enum sb_done *done)
{
	struct sb_proc *p = t->p;
	*done = SB_RETURN;
	switch (nr) {
	case SYS_mmap: return do_mmap(p, a);
	case SYS_munmap: return do_munmap(p, a[0], a[1]);
	case SYS_mprotect: return do_mprotect(p, a[0], a[1], (int)a[2]);
	case SYS_mremap: return do_mremap(p, a);
	case SYS_madvise: return do_madvise(p, a[0], a[1], (int)a[2]);
	case SYS_brk: return do_brk(p, a[0]);
	case SYS_msync: case SYS_mlock: case SYS_munlock: case SYS_mincore: return do_range_call(p, nr, a);
	case SYS_mlockall: case SYS_munlockall: return host_syscall(nr, a[0], 0, 0, 0, 0, 0);
	case SYS_rt_sigaction: return sb_rt_sigaction(t, (int)a[0], a[1], a[2], a[3]);
	case SYS_rt_sigprocmask: return sb_rt_sigprocmask(t, (int)a[0], a[1], a[2], a[3]);
	case SYS_rt_sigreturn: *done = SB_NORET; return sb_rt_sigreturn(t);
	case SYS_sigaltstack: return sb_sigaltstack(t, a[0], a[1]);
	case SYS_rt_sigsuspend: return sb_rt_sigsuspend(t, a[0], a[1]);
	case SYS_rt_sigpending: return sb_rt_sigpending(t, a[0], a[1]);
	case SYS_clone: return t->p->ops->clone(t, a[0], a[1], a[2], a[3], a[4], done);
	case SYS_fork: return t->p->ops->clone(t, SIGCHLD, 0, 0, 0, 0, done);
	case SYS_vfork: return t->p->ops->clone(t, CLONE_VFORK | CLONE_VM | SIGCHLD, 0, 0, 0, 0, done);
	case SYS_clone3: return -ENOSYS; /* libcs fall back to clone, whose flags we can read */
	case SYS_execve: return t->p->ops->execve(t, AT_FDCWD, a[0], a[1], a[2], 0);
	case SYS_execveat: return t->p->ops->execve(t, (int)a[0], a[1], a[2], a[3], (int)a[4]);
	case SYS_exit: t->p->ops->exit_thread(t, (int)a[0]);
		__builtin_unreachable();
	case SYS_exit_group: sb_exit_group(p, (int)a[0]);
	/* Emulated: the host kernel must never hold program pointers (futex_exit.c). */
	case SYS_set_tid_address: return sb_set_tid_address(t, a[0]);
	case SYS_set_robust_list: return sb_set_robust_list(t, a[0], a[1]);
	case SYS_get_robust_list: return sb_get_robust_list(t, (int)a[0], a[1], a[2]);
	case SYS_arch_prctl: return do_arch_prctl(t, a[0], a[1]);
	case SYS_ioctl: return do_ioctl(p, a);
	case SYS_fcntl: return do_fcntl(p, a);
	case SYS_prctl: return do_prctl(p, a);
	case SYS_futex: return do_futex(p, a);
	case SYS_select: case SYS_pselect6: return do_select(p, nr, a);
	case SYS_readlink: return do_readlink(p, AT_FDCWD, a[0], a[1], a[2]);
	case SYS_readlinkat: return do_readlink(p, (int)a[0], a[1], a[2], a[3]);
	case SYS_dup2: case SYS_dup3: return do_dup2(p, nr, a);
	case SYS_close_range: return do_close_range(p, a);
	case SYS_rseq: return -ENOSYS;
	case SYS_sendmmsg: case SYS_recvmmsg: {
		static __thread struct scratch mscratch;
		return do_mmsg(t, nr, a, &mscratch);
	}
	case SYS_shmat: return do_shmat(p, a);
	case SYS_shmdt: return do_shmdt(p, a[0]);
	case SYS_shmctl: return do_shmctl(p, a);
	case SYS_seccomp: return -EINVAL; /* a filter would bind the monitor itself */
	case SYS_userfaultfd: return sb_userfaultfd(p, a[0]);
	case SYS_ptrace: return sb_ptrace(t, a);
	default:
		break;
	}
	const char *spec = nr >= 0 && nr < SYSCALL_MAX ? specs[nr] : NULL;
	if (!spec)
		return -ENOSYS;
	/* Per-thread scratch: no allocation on the syscall path (a fork in
	 * another thread must never find malloc's locks taken). */
	static __thread struct scratch scratch;
	struct scratch *s = &scratch;
	s->nstr = 0;
	long rc = check_args(t, spec, a, s);
	if (rc)
		return rc;
	/* As made, with the stops of Dune tracees translated (ptrace_tracer.c). */
	if (nr == SYS_wait4)
		return pt_wait4(t, a);
	if (nr == SYS_waitid)
		return pt_waitid(t, a);
	bool handled;
	rc = sb_path_call(p, nr, a, &handled);
	if (handled)
		return rc;
	rc = sb_host_call(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (rc >= 0 && s->guest_socklen)
		memcpy((void *)s->guest_socklen, &s->socklen, 4);
	if (nr == SYS_recvmsg && rc >= 0)
		finish_recvmsg(p, (struct msghdr *)s->guest_msg, s);
	return rc;
}
