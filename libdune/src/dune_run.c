/* dune-run: run a program as a Dune process.
 *   dune-run --policy FILE [--trace] [--stats FILE] [--backend kvm|dune] [--kvm-fd N] [--no-fault-around] [--no-fastcall] [--no-kernel-syscalls] PROGRAM [ARGS...]
 * --backend: KVM (/dev/kvm) or the Dune module (/dev/dune, kmod/); by default the module when
 *   /dev/dune exists (or the inherited --kvm-fd is not KVM's), else KVM.
 * --kvm-fd: an inherited open /dev/kvm (or /dev/dune), for root filesystems without it.
 * --no-fault-around: map anonymous memory fully present, no tripwires (src/fault_around.h).
 * --no-fastcall: every system call exits to the monitor; no call site is rewritten to a
 *   guest-side stub (src/fastcall.h).
 * --no-kernel-syscalls: with the Dune module, every system call exits to the monitor; none is
 *   performed by the module's in-kernel fast path (src/kmod_policy.h, kmod/syscall.c).
 * --container-stats-fd N: a container's shared counters file (every Dune process of the
 *   container adds to it; `dune events --stats` reads it).
 *   dune-run --print-stats FILE: prints such a file's counters as JSON and exits.
 * Exit status: the program's own, or 126 (cannot run) / 127 (not found). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "phase_time.h"
#include "policy.h"
#include "sandbox.h"
#include "self_image.h"

extern char **environ;

static void usage(void)
{
	fprintf(stderr, "usage: dune-run --policy FILE [--trace] [--stats FILE] [--backend kvm|dune] [--kvm-fd N] [--no-fault-around] [--no-fastcall] [--no-kernel-syscalls] PROGRAM [ARGS...]\n"
			"       dune-run --print-stats FILE\n");
}

/* --print-stats: a counters file (possibly still being written by live processes) as JSON. */
static int print_stats(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "dune-run: %s: %s\n", path, strerror(errno));
		return 1;
	}
	struct sb_stats zero = { 0 };
	const struct sb_stats *s = &zero; /* no Dune process has started yet */
	void *map = MAP_FAILED;
	if (st.st_size >= (off_t)sizeof(struct sb_stats)) {
		map = mmap(NULL, sizeof(struct sb_stats), PROT_READ, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED) {
			fprintf(stderr, "dune-run: %s: %s\n", path, strerror(errno));
			return 1;
		}
		s = map;
	}
	close(fd);
	char backend[sizeof s->backend + 1];
	memcpy(backend, s->backend, sizeof s->backend);
	backend[sizeof s->backend] = 0;
	for (char *c = backend; *c; c++)
		if (*c < 'a' || *c > 'z')
			*c = '?';
	sb_stats_json(s, backend[0] ? backend : "kvm", stdout);
	return 0;
}

/* --backend NAME, or the default: KVM for an inherited KVM device (10:232), the module for
 * another inherited device or when /dev/dune exists, else KVM. NULL for an unknown name. */
static const struct hw_ops *pick_backend(const char *name, int dev_fd)
{
	if (name)
		return !strcmp(name, "kvm") ? &hw_kvm_ops : !strcmp(name, "dune") ? &hw_kmod_ops : NULL;
	if (dev_fd >= 0) {
		struct stat st;
		bool kvm = fstat(dev_fd, &st) < 0 ||
			   (S_ISCHR(st.st_mode) && major(st.st_rdev) == 10 && minor(st.st_rdev) == 232);
		return kvm ? &hw_kvm_ops : &hw_kmod_ops;
	}
	return hw_default_ops();
}

static char *read_all(int fd)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	if (!buf)
		return NULL;
	for (;;) {
		if (n + 1 >= cap) {
			cap *= 2;
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	return buf;
}

/* PATH lookup like a shell: names without a slash. */
static int find_program(const char *name, char *out, size_t outlen)
{
	if (strchr(name, '/')) {
		snprintf(out, outlen, "%s", name);
		return 0;
	}
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";
	int found_noexec = 0;
	while (*path) {
		size_t len = strcspn(path, ":");
		snprintf(out, outlen, "%.*s%s%s", (int)len, path, len ? "/" : "", name);
		struct stat st;
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(out, X_OK) == 0)
				return 0;
			found_noexec = 1;
		}
		path += len;
		if (*path == ':')
			path++;
	}
	return found_noexec ? -EACCES : -ENOENT;
}

/* /proc/PID/cmdline (what ps and docker top show) reads the process's own argument area:
 * put the program's arguments there instead of dune-run's options. pargv is repointed at
 * copies first, because it points into that same area. */
static void show_program_cmdline(int argc, char **argv, char **pargv)
{
	char *start = argv[0], *end = argv[argc - 1] + strlen(argv[argc - 1]) + 1;
	size_t need = 0, room = (size_t)(end - start);
	for (char **a = pargv; *a; a++)
		need += strlen(*a) + 1;
	char *copy = malloc(need);
	if (!copy)
		return;
	char *at = copy;
	for (char **a = pargv; *a; a++) {
		size_t n = strlen(*a) + 1;
		memcpy(at, *a, n);
		*a = at;
		at += n;
	}
	size_t shown = need < room ? need : room;
	memcpy(start, copy, shown);
	memset(start + shown, 0, room - shown);
}

/* dune-run's command line (see usage()); prog is the index of the program in argv. */
struct run_args {
	const char *policy_file, *stats_path, *argv0, *comm, *print_path, *backend;
	int policy_fd, trace_fd, stats_fd, kvm_fd;
	int trace, internal, count_process, no_fault_around, no_fastcall, no_kernel_syscalls, tsc_same, ptraced;
	int prog;
};

/* Parses the options. Returns -1 to go on, else the status to exit with. */
static int parse_args(int argc, char **argv, struct run_args *o)
{
	*o = (struct run_args){ .policy_fd = -1, .trace_fd = -1, .stats_fd = -1, .kvm_fd = -1, .ptraced = -1 };
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[0] != '-' || !a[1])
			break;
		const char *val = NULL;
		const char *eq = strchr(a, '=');
		size_t klen = eq ? (size_t)(eq - a) : strlen(a);
#define OPT(name) (klen == strlen(name) && !strncmp(a, name, klen))
#define NEEDVAL() do { if (eq) val = eq + 1; else if (i + 1 < argc) val = argv[++i]; else { usage(); return 126; } } while (0)
		if (OPT("--policy")) {
			NEEDVAL();
			o->policy_file = val;
		} else if (OPT("--trace")) {
			o->trace = 1;
		} else if (OPT("--stats")) {
			NEEDVAL();
			o->stats_path = val;
		} else if (OPT("--policy-fd")) {
			NEEDVAL();
			o->policy_fd = atoi(val);
			o->internal = 1;
		} else if (OPT("--trace-fd")) {
			NEEDVAL();
			o->trace_fd = atoi(val);
			o->trace = 1;
		} else if (OPT("--stats-fd")) {
			NEEDVAL();
			o->stats_fd = atoi(val);
			o->internal = 1;
		} else if (OPT("--container-stats-fd")) {
			NEEDVAL();
			o->stats_fd = atoi(val);
			o->count_process = 1;
		} else if (OPT("--print-stats")) {
			NEEDVAL();
			o->print_path = val;
			break;
		} else if (OPT("--no-fault-around")) {
			o->no_fault_around = 1;
		} else if (OPT("--no-fastcall")) {
			o->no_fastcall = 1;
		} else if (OPT("--no-kernel-syscalls")) {
			o->no_kernel_syscalls = 1;
		} else if (OPT("--tsc-same")) {
			o->tsc_same = 1;
		} else if (OPT("--ptraced")) {
			NEEDVAL();
			o->ptraced = atoi(val);
		} else if (OPT("--backend")) {
			NEEDVAL();
			o->backend = val;
		} else if (OPT("--kvm-fd")) {
			NEEDVAL();
			o->kvm_fd = atoi(val);
		} else if (OPT("--comm")) {
			NEEDVAL();
			o->comm = val;
		} else if (OPT("--argv0")) {
			NEEDVAL();
			o->argv0 = val;
		} else if (OPT("--help") || OPT("-h")) {
			usage();
			return 0;
		} else {
			fprintf(stderr, "dune-run: unknown option %s\n", a);
			usage();
			return 126;
		}
#undef NEEDVAL
#undef OPT
	}
	o->prog = i;
	return -1;
}

/* Reads the policy the runtime wrote (--policy FILE or --policy-fd N) and checks that its
 * notify rules can work. Returns 0 or the status to exit with. */
static int read_policy(const struct run_args *o, struct policy **pol)
{
	/* No policy of its own: the runtime always writes one (libdune/README.md, "Policy format"). */
	if (o->policy_fd < 0 && !o->policy_file) {
		fprintf(stderr, "dune-run: no policy: --policy FILE is required (the runtime writes it from linux.seccomp "
				"or Docker's default profile)\n");
		return 126;
	}
	const char *name = o->policy_file ? o->policy_file : "(inherited)";
	int fd = o->policy_fd >= 0 ? o->policy_fd : open(o->policy_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "dune-run: policy %s: %s\n", o->policy_file, strerror(errno));
		return 126;
	}
	char *text = read_all(fd);
	close(fd);
	char err[512];
	if (!text || policy_load(pol, text, err, sizeof err) < 0) {
		fprintf(stderr, "dune-run: policy %s: %s\n", name, text ? err : "cannot read");
		return 126;
	}
	free(text);
	/* The monitor forwards a notified call; the listener is the kernel filter's, which
	 * the runtime loaded under this process. Without one the call would just run. */
	int nr = policy_next_notify(*pol, 0);
	if (nr >= 0 && prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 2) {
		fprintf(stderr, "dune-run: policy %s: SCMP_ACT_NOTIFY needs a kernel seccomp filter with a "
				"listener under the process (the runtime loads it); there is none\n",
			name);
		return 126;
	}
	/* Only a call the host kernel sees as the program made it can reach the listener. */
	for (; nr >= 0; nr = policy_next_notify(*pol, nr + 1))
		if (!sb_forwarded_as_made(nr)) {
			const char *call = sys_name(nr);
			fprintf(stderr, "dune-run: policy %s: SCMP_ACT_NOTIFY on %s: the monitor answers that call "
					"itself or makes it in another form, the listener would never see it\n",
				name, call ? call : "?");
			return 126;
		}
	return 0;
}

int main(int argc, char **argv)
{
	struct run_args o;
	int rc = parse_args(argc, argv, &o);
	if (rc >= 0)
		return rc;
	/* --print-stats serves the CLI on the host: no program, no sealed copy. */
	if (o.print_path)
		return print_stats(o.print_path);
	int i = o.prog;
	if (i >= argc) {
		usage();
		return 126;
	}
	/* Parsing had no effects: from here on run from the sealed copy. */
	char err[512];
	int self_fd = self_image_ensure("dune-run", argv, environ, err, sizeof err);
	if (self_fd < 0) {
		fprintf(stderr, "dune-run: cannot run from a sealed copy of itself: %s\n", err);
		return 126;
	}
	phase_mark("main");
	struct policy *pol = NULL;
	rc = read_policy(&o, &pol);
	if (rc)
		return rc;

	phase_mark("policy-parsed");
	if (o.trace && o.trace_fd < 0)
		o.trace_fd = fcntl(2, F_DUPFD_CLOEXEC, 940);
	if (o.trace_fd >= 0)
		fcntl(o.trace_fd, F_SETFD, FD_CLOEXEC);
	if (o.stats_fd >= 0)
		fcntl(o.stats_fd, F_SETFD, FD_CLOEXEC);

	char path[PATH_MAX];
	rc = find_program(argv[i], path, sizeof path);
	if (rc) {
		fprintf(stderr, "dune-run: %s: %s\n", argv[i], rc == -ENOENT ? "command not found" : strerror(-rc));
		return rc == -ENOENT ? 127 : 126;
	}
	char **pargv = &argv[i];
	if (o.argv0)
		pargv[0] = (char *)o.argv0;
	/* Option values point into the argument area too: keep what is used later. */
	if (o.stats_path)
		o.stats_path = strdup(o.stats_path);
	if (o.comm)
		o.comm = strdup(o.comm);
	/* Before show_program_cmdline, which rewrites the argument area o.backend points into. */
	const struct hw_ops *hw = pick_backend(o.backend, o.kvm_fd);
	if (!hw) {
		fprintf(stderr, "dune-run: --backend %s: not kvm or dune\n", o.backend);
		return 126;
	}
	show_program_cmdline(argc, argv, pargv);
	struct sb_options opt = {
		.stats_path = o.stats_path,
		.trace = o.trace,
		.trace_fd = o.trace_fd,
		.stats_fd = o.stats_fd,
		.kvm_fd = o.kvm_fd,
		.hw = hw,
		.self_fd = self_fd,
		.is_root = !o.internal || o.stats_path,
		.count_process = o.count_process,
		.comm = o.comm,
		.no_fault_around = o.no_fault_around,
		.no_fastcall = o.no_fastcall,
		.no_kernel_syscalls = o.no_kernel_syscalls,
		.tsc_same = o.tsc_same,
		.ptraced = o.ptraced + 1,
	};
	return sandbox_run(pol, &opt, path, pargv, environ);
}
