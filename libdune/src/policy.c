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

/* One rule of a syscall's list: {"action", "errnoRet" (ERRNO and TRACE), "args"}. */
static int parse_rule(struct pol_rule *r, const struct json *j, int nr, char *err, size_t errlen)
{
	const struct json *action = json_get(j, "action");
	if (!action || action->type != JSON_STRING) {
		snprintf(err, errlen, "syscall %d: a rule without \"action\"", nr);
		return -EINVAL;
	}
	if (parse_action(action->str, &r->action, err, errlen) < 0)
		return -EINVAL;
	uint64_t v;
	if (r->action == ACT_ERRNO || r->action == ACT_TRACE) {
		if (get_u64(json_get(j, "errnoRet"), &v) < 0 || v > 0xffff) {
			snprintf(err, errlen, "syscall %d: %s without a 16-bit \"errnoRet\"", nr, action->str);
			return -EINVAL;
		}
		r->errno_ret = (int)v;
	}
	const struct json *args = json_get(j, "args");
	if (args && args->type != JSON_ARRAY) {
		snprintf(err, errlen, "syscall %d: \"args\" is not an array", nr);
		return -EINVAL;
	}
	for (const struct json *a = args ? args->child : NULL; a; a = a->next) {
		if (r->nargs == 6) {
			snprintf(err, errlen, "syscall %d: more than 6 argument conditions", nr);
			return -EINVAL;
		}
		struct pol_arg *pa = &r->args[r->nargs++];
		uint64_t ix;
		const struct json *op = json_get(a, "op");
		if (get_u64(json_get(a, "index"), &ix) < 0 || ix > 5 || get_u64(json_get(a, "value"), &pa->value) < 0 ||
		    !op || op->type != JSON_STRING || parse_op(op->str, &pa->op) < 0 ||
		    (pa->op == OP_MASKED_EQ && get_u64(json_get(a, "valueTwo"), &pa->value2) < 0)) {
			snprintf(err, errlen, "syscall %d: bad argument condition", nr);
			return -EINVAL;
		}
		pa->index = (unsigned)ix;
	}
	return 0;
}

/* {"nr", "name" (informational), "rules": [...]} */
static int parse_syscall(struct policy *p, const struct json *s, char *err, size_t errlen)
{
	uint64_t nr;
	const struct json *rules = json_get(s, "rules");
	if (get_u64(json_get(s, "nr"), &nr) < 0 || nr >= SYSCALL_MAX) {
		snprintf(err, errlen, "syscalls: an entry without an \"nr\" below %d", SYSCALL_MAX);
		return -EINVAL;
	}
	if (p->rules[nr]) {
		snprintf(err, errlen, "syscall %d listed twice", (int)nr);
		return -EINVAL;
	}
	if (!rules || rules->type != JSON_ARRAY || !rules->child) {
		snprintf(err, errlen, "syscall %d: no \"rules\"", (int)nr);
		return -EINVAL;
	}
	struct pol_rule **tail = &p->rules[nr];
	for (const struct json *j = rules->child; j; j = j->next) {
		struct pol_rule *r = calloc(1, sizeof *r);
		if (!r)
			return -ENOMEM;
		*tail = r;
		tail = &r->next;
		int rc = parse_rule(r, j, (int)nr, err, errlen);
		if (rc < 0)
			return rc;
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
	if (!p) {
		rc = -ENOMEM;
		goto done;
	}
	uint64_t version;
	if (j->type != JSON_OBJECT || get_u64(json_get(j, "dunePolicy"), &version) < 0) {
		snprintf(err, errlen, "not a monitor policy (no \"dunePolicy\" version: the runtime writes it, "
				      "see libdune/README.md)");
		goto done;
	}
	if (version != POLICY_FORMAT) {
		snprintf(err, errlen, "policy format %llu, this dune-run reads %d", (unsigned long long)version,
			 POLICY_FORMAT);
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
	uint64_t v;
	if (p->default_action == ACT_ERRNO || p->default_action == ACT_TRACE) {
		if (get_u64(json_get(j, "defaultErrnoRet"), &v) < 0 || v > 0xffff) {
			snprintf(err, errlen, "%s default without a 16-bit \"defaultErrnoRet\"", def->str);
			goto done;
		}
		p->default_errno = (int)v;
	}
	const struct json *sys = json_get(j, "syscalls");
	if (!sys || sys->type != JSON_ARRAY) {
		snprintf(err, errlen, "missing \"syscalls\"");
		goto done;
	}
	for (const struct json *s = sys->child; s; s = s->next) {
		rc = parse_syscall(p, s, err, errlen);
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
	case OP_MASKED_EQ: return (x & a->value) == a->value2; /* value2 is written masked */
	}
	return 0;
}

struct pol_verdict policy_check(const struct policy *p, int nr, const uint64_t args[6])
{
	struct pol_verdict v = { p->default_action, p->default_errno };
	if (nr < 0 || nr >= SYSCALL_MAX)
		return v;
	/* First rule whose argument conditions all hold decides (the runtime resolved
	 * libseccomp's ordering when it wrote the list). */
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

bool policy_always_allows(const struct policy *p, int nr)
{
	if (nr < 0 || nr >= SYSCALL_MAX)
		return false;
	const struct pol_rule *r = p->rules[nr];
	return r ? r->action == ACT_ALLOW && r->nargs == 0 : p->default_action == ACT_ALLOW;
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
