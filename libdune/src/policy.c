#include "policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static int parse_action(const char *s, enum pol_action *out, char *err, size_t errlen)
{
	static const struct { const char *name; enum pol_action a; } map[] = {
		{ "SCMP_ACT_ALLOW", ACT_ALLOW },
		{ "SCMP_ACT_ERRNO", ACT_ERRNO },
		{ "SCMP_ACT_KILL", ACT_KILL_THREAD },
		{ "SCMP_ACT_KILL_THREAD", ACT_KILL_THREAD },
		{ "SCMP_ACT_KILL_PROCESS", ACT_KILL_PROCESS },
		{ "SCMP_ACT_TRAP", ACT_TRAP },
		{ "SCMP_ACT_LOG", ACT_LOG },
		{ "SCMP_ACT_TRACE", ACT_TRACE },
		{ "SCMP_ACT_NOTIFY", ACT_NOTIFY },
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(s, map[i].name)) {
			*out = map[i].a;
			return 0;
		}
	snprintf(err, errlen, "unknown action \"%s\"", s);
	return -EINVAL;
}

static int parse_op(const char *s, enum pol_op *out)
{
	static const char *const names[] = { "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ",
					     "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ" };
	for (int i = 0; i < 7; i++)
		if (!strcmp(s, names[i])) {
			*out = (enum pol_op)i;
			return 0;
		}
	return -EINVAL;
}

static int get_u64(const struct json *j, uint64_t *out)
{
	if (!j || j->type != JSON_NUMBER || !j->is_integer)
		return -EINVAL;
	*out = j->u64;
	return 0;
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	for (int i = 0; i < SYSCALL_MAX; i++) {
		struct pol_rule *r = p->rules[i];
		while (r) {
			struct pol_rule *n = r->next;
			free(r);
			r = n;
		}
	}
	free(p->text);
	free(p);
}

static int parse_rule(struct policy *p, const struct json *s, int index, char *err, size_t errlen)
{
	const struct json *names = json_get(s, "names");
	const struct json *name = json_get(s, "name");
	const struct json *action = json_get(s, "action");
	if (!action || action->type != JSON_STRING) {
		snprintf(err, errlen, "syscalls[%d]: missing \"action\"", index);
		return -EINVAL;
	}
	struct pol_rule proto = { .errno_ret = p->default_errno };
	if (parse_action(action->str, &proto.action, err, errlen) < 0)
		return -EINVAL;
	const struct json *er = json_get(s, "errnoRet");
	uint64_t v;
	if (er && get_u64(er, &v) == 0)
		proto.errno_ret = (int)v;
	else if (!er)
		proto.errno_ret = EPERM;
	const struct json *args = json_get(s, "args");
	if (args && args->type == JSON_ARRAY) {
		for (const struct json *a = args->child; a; a = a->next) {
			if (proto.nargs == 6) {
				snprintf(err, errlen, "syscalls[%d]: more than 6 argument conditions", index);
				return -EINVAL;
			}
			struct pol_arg *pa = &proto.args[proto.nargs++];
			uint64_t ix;
			const struct json *op = json_get(a, "op");
			if (get_u64(json_get(a, "index"), &ix) < 0 || ix > 5 ||
			    get_u64(json_get(a, "value"), &pa->value) < 0 || !op || op->type != JSON_STRING ||
			    parse_op(op->str, &pa->op) < 0) {
				snprintf(err, errlen, "syscalls[%d]: bad argument condition", index);
				return -EINVAL;
			}
			pa->index = (unsigned)ix;
			const struct json *v2 = json_get(a, "valueTwo");
			if (v2)
				get_u64(v2, &pa->value2);
		}
	}
	/* Unknown names are skipped, as runtimes do for other architectures' calls. */
	for (const struct json *n = names ? names->child : name; n; n = names ? n->next : NULL) {
		if (n->type != JSON_STRING)
			continue;
		int nr = sys_number(n->str);
		if (nr >= 0) {
			struct pol_rule *r = malloc(sizeof *r);
			if (!r)
				return -ENOMEM;
			*r = proto;
			r->next = NULL;
			struct pol_rule **tail = &p->rules[nr];
			while (*tail)
				tail = &(*tail)->next;
			*tail = r;
		}
		if (!names)
			break;
	}
	return 0;
}

int policy_load(struct policy **out, const char *text, char *err, size_t errlen)
{
	struct json *j = json_parse(text, err, errlen);
	if (!j)
		return -EINVAL;
	int rc = -EINVAL;
	struct policy *p = calloc(1, sizeof *p);
	if (!p)
		goto done;
	if (j->type != JSON_OBJECT) {
		snprintf(err, errlen, "policy must be a JSON object");
		goto done;
	}
	const struct json *def = json_get(j, "defaultAction");
	if (!def || def->type != JSON_STRING) {
		snprintf(err, errlen, "missing \"defaultAction\"");
		goto done;
	}
	if (parse_action(def->str, &p->default_action, err, errlen) < 0)
		goto done;
	if (p->default_action == ACT_NOTIFY) {
		snprintf(err, errlen, "SCMP_ACT_NOTIFY cannot be used as default action");
		goto done;
	}
	p->default_errno = EPERM;
	uint64_t v;
	if (get_u64(json_get(j, "defaultErrnoRet"), &v) == 0)
		p->default_errno = (int)v;
	const struct json *sys = json_get(j, "syscalls");
	int i = 0;
	for (const struct json *s = sys ? sys->child : NULL; s; s = s->next, i++) {
		rc = parse_rule(p, s, i, err, errlen);
		if (rc < 0)
			goto done;
	}
	p->text = strdup(text);
	rc = p->text ? 0 : -ENOMEM;
done:
	json_free(j);
	if (rc < 0)
		policy_free(p);
	else
		*out = p;
	return rc;
}

static int arg_matches(const struct pol_arg *a, uint64_t x)
{
	switch (a->op) {
	case OP_NE: return x != a->value;
	case OP_LT: return x < a->value;
	case OP_LE: return x <= a->value;
	case OP_EQ: return x == a->value;
	case OP_GE: return x >= a->value;
	case OP_GT: return x > a->value;
	case OP_MASKED_EQ: return (x & a->value) == a->value2;
	}
	return 0;
}

struct pol_verdict policy_check(const struct policy *p, int nr, const uint64_t args[6])
{
	struct pol_verdict v = { p->default_action, p->default_errno };
	if (nr < 0 || nr >= SYSCALL_MAX)
		return v;
	/* First rule whose argument conditions all hold decides. */
	for (const struct pol_rule *r = p->rules[nr]; r; r = r->next) {
		int ok = 1;
		for (int i = 0; i < r->nargs && ok; i++)
			ok = arg_matches(&r->args[i], args[r->args[i].index]);
		if (ok) {
			v.action = r->action;
			v.errno_ret = r->errno_ret;
			return v;
		}
	}
	return v;
}

int policy_next_notify(const struct policy *p, int nr)
{
	for (int i = nr < 0 ? 0 : nr; i < SYSCALL_MAX; i++)
		for (const struct pol_rule *r = p->rules[i]; r; r = r->next)
			if (r->action == ACT_NOTIFY)
				return i;
	return -1;
}

const char *policy_action_name(enum pol_action a)
{
	static const char *const n[] = { "allow", "errno", "kill_thread", "kill_process", "trap", "log", "trace", "notify" };
	return n[a];
}

/* Docker's default profile (moby, 20.10 era) for x86-64 with the default
 * capability set, written out in the same OCI form: everything not listed
 * fails with EPERM; namespace-creating clone flags, AF_VSOCK sockets and
 * exotic personalities are refused; clone3 reports ENOSYS so libcs fall
 * back to clone, whose flags can be inspected. */
static const char default_policy[] =
	"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,\"syscalls\":["
	"{\"names\":[\"accept\",\"accept4\",\"access\",\"adjtimex\",\"alarm\",\"bind\",\"brk\",\"capget\","
	"\"capset\",\"chdir\",\"chmod\",\"chown\",\"chroot\",\"clock_adjtime\",\"clock_getres\",\"clock_gettime\","
	"\"clock_nanosleep\",\"close\",\"close_range\",\"connect\",\"copy_file_range\",\"creat\",\"dup\",\"dup2\","
	"\"dup3\",\"epoll_create\",\"epoll_create1\",\"epoll_ctl\",\"epoll_ctl_old\",\"epoll_pwait\",\"epoll_pwait2\","
	"\"epoll_wait\",\"epoll_wait_old\",\"eventfd\",\"eventfd2\",\"execve\",\"execveat\",\"exit\",\"exit_group\","
	"\"faccessat\",\"faccessat2\",\"fadvise64\",\"fallocate\",\"fanotify_mark\",\"fchdir\",\"fchmod\",\"fchmodat\","
	"\"fchown\",\"fchownat\",\"fcntl\",\"fdatasync\",\"fgetxattr\",\"flistxattr\",\"flock\",\"fork\",\"fremovexattr\","
	"\"fsetxattr\",\"fstat\",\"fstatfs\",\"fsync\",\"ftruncate\",\"futex\",\"futex_waitv\",\"futimesat\",\"getcpu\","
	"\"getcwd\",\"getdents\",\"getdents64\",\"getegid\",\"geteuid\",\"getgid\",\"getgroups\",\"getitimer\","
	"\"getpeername\",\"getpgid\",\"getpgrp\",\"getpid\",\"getppid\",\"getpriority\",\"getrandom\",\"getresgid\","
	"\"getresuid\",\"getrlimit\",\"get_robust_list\",\"getrusage\",\"getsid\",\"getsockname\",\"getsockopt\","
	"\"get_thread_area\",\"gettid\",\"gettimeofday\",\"getuid\",\"getxattr\",\"inotify_add_watch\",\"inotify_init\","
	"\"inotify_init1\",\"inotify_rm_watch\",\"io_cancel\",\"ioctl\",\"io_destroy\",\"io_getevents\",\"io_pgetevents\","
	"\"ioprio_get\",\"ioprio_set\",\"io_setup\",\"io_submit\",\"io_uring_enter\",\"io_uring_register\",\"io_uring_setup\","
	"\"kill\",\"landlock_add_rule\",\"landlock_create_ruleset\",\"landlock_restrict_self\",\"lchown\",\"lgetxattr\","
	"\"link\",\"linkat\",\"listen\",\"listxattr\",\"llistxattr\",\"lremovexattr\",\"lseek\",\"lsetxattr\",\"lstat\","
	"\"madvise\",\"membarrier\",\"memfd_create\",\"memfd_secret\",\"mincore\",\"mkdir\",\"mkdirat\",\"mknod\",\"mknodat\","
	"\"mlock\",\"mlock2\",\"mlockall\",\"mmap\",\"mprotect\",\"mq_getsetattr\",\"mq_notify\",\"mq_open\","
	"\"mq_timedreceive\",\"mq_timedsend\",\"mq_unlink\",\"mremap\",\"msgctl\",\"msgget\",\"msgrcv\",\"msgsnd\",\"msync\","
	"\"munlock\",\"munlockall\",\"munmap\",\"name_to_handle_at\",\"nanosleep\",\"newfstatat\",\"open\",\"openat\","
	"\"openat2\",\"pause\",\"pidfd_open\",\"pidfd_send_signal\",\"pipe\",\"pipe2\",\"pkey_alloc\",\"pkey_free\","
	"\"pkey_mprotect\",\"poll\",\"ppoll\",\"prctl\",\"pread64\",\"preadv\",\"preadv2\",\"prlimit64\",\"process_mrelease\","
	"\"pselect6\",\"pwrite64\",\"pwritev\",\"pwritev2\",\"read\",\"readahead\",\"readlink\",\"readlinkat\",\"readv\","
	"\"recvfrom\",\"recvmmsg\",\"recvmsg\",\"remap_file_pages\",\"removexattr\",\"rename\",\"renameat\",\"renameat2\","
	"\"restart_syscall\",\"rmdir\",\"rseq\",\"rt_sigaction\",\"rt_sigpending\",\"rt_sigprocmask\",\"rt_sigqueueinfo\","
	"\"rt_sigreturn\",\"rt_sigsuspend\",\"rt_sigtimedwait\",\"rt_tgsigqueueinfo\",\"sched_getaffinity\","
	"\"sched_getattr\",\"sched_getparam\",\"sched_get_priority_max\",\"sched_get_priority_min\",\"sched_getscheduler\","
	"\"sched_rr_get_interval\",\"sched_setaffinity\",\"sched_setattr\",\"sched_setparam\",\"sched_setscheduler\","
	"\"sched_yield\",\"seccomp\",\"select\",\"semctl\",\"semget\",\"semop\",\"semtimedop\",\"sendfile\",\"sendmmsg\","
	"\"sendmsg\",\"sendto\",\"setfsgid\",\"setfsuid\",\"setgid\",\"setgroups\",\"setitimer\",\"setpgid\",\"setpriority\","
	"\"setregid\",\"setresgid\",\"setresuid\",\"setreuid\",\"setrlimit\",\"set_robust_list\",\"setsid\",\"setsockopt\","
	"\"set_thread_area\",\"set_tid_address\",\"setuid\",\"setxattr\",\"shmat\",\"shmctl\",\"shmdt\",\"shmget\","
	"\"shutdown\",\"sigaltstack\",\"signalfd\",\"signalfd4\",\"socketpair\",\"splice\",\"stat\",\"statfs\",\"statx\","
	"\"symlink\",\"symlinkat\",\"sync\",\"sync_file_range\",\"syncfs\",\"sysinfo\",\"tee\",\"tgkill\",\"time\","
	"\"timer_create\",\"timer_delete\",\"timer_getoverrun\",\"timer_gettime\",\"timer_settime\",\"timerfd_create\","
	"\"timerfd_gettime\",\"timerfd_settime\",\"times\",\"tkill\",\"truncate\",\"umask\",\"uname\",\"unlink\",\"unlinkat\","
	"\"utime\",\"utimensat\",\"utimes\",\"vfork\",\"vmsplice\",\"wait4\",\"waitid\",\"write\",\"writev\","
	"\"arch_prctl\",\"modify_ldt\",\"ptrace\"],\"action\":\"SCMP_ACT_ALLOW\"},"
	"{\"names\":[\"socket\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":40,\"op\":\"SCMP_CMP_NE\"}]},"
	"{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":0,\"op\":\"SCMP_CMP_EQ\"}]},"
	"{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":8,\"op\":\"SCMP_CMP_EQ\"}]},"
	"{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":131072,\"op\":\"SCMP_CMP_EQ\"}]},"
	"{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":131080,\"op\":\"SCMP_CMP_EQ\"}]},"
	"{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":4294967295,\"op\":\"SCMP_CMP_EQ\"}]},"
	"{\"names\":[\"clone\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":2114060288,\"valueTwo\":0,\"op\":\"SCMP_CMP_MASKED_EQ\"}]},"
	"{\"names\":[\"clone3\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":38}"
	"]}";

int policy_default(struct policy **out, char *err, size_t errlen)
{
	return policy_load(out, default_policy, err, errlen);
}
