/* The monitor's syscall policy, checked before any host system call. The
 * runtime (oci/Dune.Oci/Seccomp/MonitorPolicy.cs) writes it from linux.seccomp
 * (or Docker's default profile) with runc's semantics already applied: per
 * x86-64 syscall number an ordered list of rules, the first whose argument
 * conditions all hold decides, else the default action. This is only its
 * reader; there is no built-in policy. Format: libdune/README.md. */
#ifndef DUNE_POLICY_H
#define DUNE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sysnames.h"

enum pol_action {
	ACT_ALLOW,
	ACT_ERRNO,
	ACT_KILL_THREAD,
	ACT_KILL_PROCESS,
	ACT_TRAP,
	ACT_LOG,
	ACT_TRACE, /* no tracer can attach to a Dune process: ENOSYS, as seccomp does */
	ACT_NOTIFY, /* forwarded to the host: the kernel filter underneath notifies its listener */
};

enum pol_op { OP_NE, OP_LT, OP_LE, OP_EQ, OP_GE, OP_GT, OP_MASKED_EQ };

struct pol_arg {
	unsigned index;
	uint64_t value, value2;
	enum pol_op op;
};

struct pol_rule {
	enum pol_action action;
	int errno_ret;
	int nargs; /* all must hold (AND) */
	struct pol_arg args[6];
	struct pol_rule *next;
};

struct policy {
	enum pol_action default_action;
	struct pol_rule *rules[SYSCALL_MAX];
	int default_errno; /* for ERRNO and TRACE */
	char *text; /* the JSON it came from, handed to exec'd images */
};

struct pol_verdict {
	enum pol_action action;
	int errno_ret;
};

#define POLICY_FORMAT 1 /* "dunePolicy" */

/* Parse a policy in the normalized form. */
int policy_load(struct policy **out, const char *json, char *err, size_t errlen);
struct pol_verdict policy_check(const struct policy *p, int nr, const uint64_t args[6]);
const char *policy_action_name(enum pol_action a);
/* Whether call nr is allowed whatever its arguments (its first rule, or the default when it
 * has none, is SCMP_ACT_ALLOW with no condition): its verdict is known before it is made. */
bool policy_always_allows(const struct policy *p, int nr);
/* The first syscall number >= nr with a notify rule (SCMP_ACT_NOTIFY), or -1. */
int policy_next_notify(const struct policy *p, int nr);
void policy_free(struct policy *p);

#endif
