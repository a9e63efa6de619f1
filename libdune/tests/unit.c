/* Unit tests of libdune's pure code (json.c, region.c, policy.c): no KVM, no root, no
 * dune-run. `make -C libdune test` runs them first. Each test prints "ok   NAME" or
 * "FAIL NAME: why"; last line "N passed, N failed", exit status 1 on any failure. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "json.h"
#include "policy.h"
#include "region.h"

struct ctx {
	char why[512];
};

/* Records the first failed condition of a test and makes it return 1. */
#define CHECK(c, cond, ...)                                                         \
	do {                                                                        \
		if (!(cond)) {                                                      \
			fail_at((c), __LINE__, #cond, "" __VA_ARGS__);              \
			return 1;                                                   \
		}                                                                   \
	} while (0)

static void fail_at(struct ctx *c, int line, const char *cond, const char *fmt, ...)
{
	char detail[384] = "";
	if (fmt[0]) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(detail, sizeof detail, fmt, ap);
		va_end(ap);
	}
	snprintf(c->why, sizeof c->why, "line %d: %s%s%s", line, cond, detail[0] ? ": " : "", detail);
}

/* ---- json.c ---- */

static int t_json_document(struct ctx *c)
{
	char err[128];
	struct json *j = json_parse(" {\"a\": [1, 2.5, -3, true, false, null], \"s\": \"x\\ny\\u0041\\\"\","
				    " \"big\": 18446744073709551615, \"o\": {}} ",
				    err, sizeof err);
	CHECK(c, j, "%s", err);
	CHECK(c, j->type == JSON_OBJECT);
	const struct json *a = json_get(j, "a");
	CHECK(c, a && a->type == JSON_ARRAY && json_len(a) == 6);
	const struct json *e = a->child;
	CHECK(c, e->type == JSON_NUMBER && e->is_integer && e->u64 == 1);
	e = e->next;
	CHECK(c, e->type == JSON_NUMBER && !e->is_integer && e->number == 2.5);
	e = e->next;
	CHECK(c, e->type == JSON_NUMBER && !e->is_integer && e->number == -3, "negatives are not u64");
	e = e->next;
	CHECK(c, e->type == JSON_BOOL && e->boolean == 1);
	e = e->next;
	CHECK(c, e->type == JSON_BOOL && e->boolean == 0);
	e = e->next;
	CHECK(c, e->type == JSON_NULL && !e->next);
	const struct json *s = json_get(j, "s");
	CHECK(c, s && s->type == JSON_STRING && !strcmp(s->str, "x\nyA\""), "got \"%s\"", s ? s->str : "");
	const struct json *big = json_get(j, "big");
	CHECK(c, big && big->is_integer && big->u64 == UINT64_MAX, "u64 must be exact");
	const struct json *o = json_get(j, "o");
	CHECK(c, o && o->type == JSON_OBJECT && json_len(o) == 0);
	CHECK(c, !json_get(j, "missing"));
	CHECK(c, !json_get(a, "a"), "json_get on an array");
	CHECK(c, json_len(NULL) == 0);
	json_free(j);
	return 0;
}

static int t_json_rejects(struct ctx *c)
{
	static const struct { const char *text, *msg; } bad[] = {
		{ "", "unexpected character" },
		{ "{\"a\" 1}", "expected ':'" },
		{ "{\"a\": 1", "expected ',' or '}'" },
		{ "[1 2]", "expected ',' or ']'" },
		{ "\"abc", "unterminated string" },
		{ "\"\\q\"", "bad escape" },
		{ "\"\\u12g4\"", "bad \\u escape" },
		{ "{1: 2}", "expected string" },
		{ "[1] x", "trailing data" },
		{ "nul", "unexpected character" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char err[128] = "";
		struct json *j = json_parse(bad[i].text, err, sizeof err);
		CHECK(c, !j, "accepted '%s'", bad[i].text);
		CHECK(c, strstr(err, bad[i].msg), "'%s': error \"%s\", expected \"%s\"", bad[i].text, err, bad[i].msg);
		CHECK(c, strstr(err, " at offset "), "'%s': no offset in \"%s\"", bad[i].text, err);
	}
	return 0;
}

static int t_json_depth(struct ctx *c)
{
	char deep[200], err[128];
	/* 64 levels are read, 65 are refused (a bound on the recursion). */
	for (int levels = 64; levels <= 65; levels++) {
		memset(deep, '[', (size_t)levels);
		memset(deep + levels, ']', (size_t)levels);
		deep[2 * levels] = '\0';
		struct json *j = json_parse(deep, err, sizeof err);
		if (levels == 64) {
			CHECK(c, j, "64 levels: %s", err);
			json_free(j);
		} else {
			CHECK(c, !j && strstr(err, "nesting too deep"), "65 levels: %s", err);
		}
	}
	return 0;
}

static int t_json_members_in_order(struct ctx *c)
{
	char err[128];
	struct json *j = json_parse("{\"k\":1,\"k\":2,\"z\":3}", err, sizeof err);
	CHECK(c, j, "%s", err);
	/* The first of duplicate keys is found; members keep their order. */
	CHECK(c, json_get(j, "k")->u64 == 1);
	CHECK(c, !strcmp(j->child->next->next->key, "z"));
	json_free(j);
	return 0;
}

/* ---- region.c ---- */

/* A byte-per-unit model of a region map over [0, SPACE). -1: not owned. */
#define SPACE 96

static int region_consistent(struct ctx *c, const struct region_map *m, const int model[SPACE])
{
	for (size_t i = 0; i < m->n; i++) {
		CHECK(c, m->r[i].start < m->r[i].end, "empty region %zu", i);
		CHECK(c, i == 0 || m->r[i - 1].end <= m->r[i].start, "regions %zu and %zu overlap or are unsorted", i - 1, i);
	}
	for (uint64_t a = 0; a < SPACE + 4; a++) {
		const struct region *r = region_find(m, a);
		int want = a < SPACE ? model[a] : -1;
		CHECK(c, want < 0 ? r == NULL : (r && r->prot == want && r->start <= a && a < r->end),
		      "find(%llu): want %d, got %d", (unsigned long long)a, want, r ? r->prot : -1);
	}
	return 0;
}

static int model_covers(const int model[SPACE], uint64_t s, uint64_t e, int need)
{
	for (uint64_t a = s; a < e; a++)
		if (model[a] < 0 || (model[a] & need) != need)
			return 0;
	return 1;
}

static int model_overlaps(const int model[SPACE], uint64_t s, uint64_t e)
{
	for (uint64_t a = s; a < e; a++)
		if (model[a] >= 0)
			return 1;
	return 0;
}

static int t_region_split_merge(struct ctx *c)
{
	struct region_map m = { 0 };
	CHECK(c, region_set(&m, 0x1000, 0x5000, PROT_READ) == 0);
	CHECK(c, region_set(&m, 0x2000, 0x3000, PROT_READ | PROT_WRITE) == 0);
	CHECK(c, m.n == 3, "a protection change in the middle splits in three, got %zu", m.n);
	CHECK(c, region_set(&m, 0x2000, 0x3000, PROT_READ) == 0);
	CHECK(c, m.n == 1 && m.r[0].start == 0x1000 && m.r[0].end == 0x5000, "equal neighbours merge back, got %zu", m.n);
	CHECK(c, region_set(&m, 0x3000, 0x4000, -1) == 0);
	CHECK(c, m.n == 2 && !region_find(&m, 0x3000) && region_find(&m, 0x2fff) && region_find(&m, 0x4000));
	CHECK(c, region_covers(&m, 0x1000, 0x3000, PROT_READ));
	CHECK(c, !region_covers(&m, 0x1000, 0x3001, PROT_READ), "a hole is not covered");
	CHECK(c, !region_covers(&m, 0x1000, 0x2000, PROT_WRITE), "missing bits are not covered");
	CHECK(c, region_covers(&m, 0x9000, 0x9000, PROT_READ), "an empty range is covered");
	CHECK(c, !region_covers(&m, 0x2000, 0x1000, 0), "a reversed range is not");
	CHECK(c, region_overlaps(&m, 0x2fff, 0x3800) && !region_overlaps(&m, 0x3000, 0x4000));
	CHECK(c, region_set(&m, 0x10, 0x10, PROT_READ) == 0 && m.n == 2, "an empty set changes nothing");
	struct region_map copy;
	CHECK(c, region_copy(&copy, &m) == 0);
	CHECK(c, copy.n == m.n && !memcmp(copy.r, m.r, m.n * sizeof *m.r));
	CHECK(c, region_set(&copy, 0, 0x10000, -1) == 0 && copy.n == 0 && m.n == 2, "a copy is independent");
	region_free(&copy);
	region_free(&m);
	CHECK(c, m.r == NULL && m.n == 0 && m.cap == 0);
	return 0;
}

static int t_region_model(struct ctx *c)
{
	/* Thousands of random sets and removals against the byte model: lookups, coverage and
	 * overlap answers must agree after every step. Fixed seed: a failure repeats. */
	srandom(11);
	for (int round = 0; round < 40; round++) {
		struct region_map m = { 0 };
		int model[SPACE];
		for (int a = 0; a < SPACE; a++)
			model[a] = -1;
		for (int step = 0; step < 150; step++) {
			uint64_t s = (uint64_t)(random() % SPACE), e = s + (uint64_t)(random() % 24);
			if (e > SPACE)
				e = SPACE;
			int prot = (int)(random() % 5) - 1; /* -1 (remove) .. 3 */
			CHECK(c, region_set(&m, s, e, prot) == 0);
			for (uint64_t a = s; a < e; a++)
				model[a] = prot;
			if (region_consistent(c, &m, model))
				return 1;
			uint64_t qs = (uint64_t)(random() % SPACE), qe = qs + (uint64_t)(random() % 16);
			if (qe > SPACE)
				qe = SPACE;
			int need = (int)(random() % 4);
			CHECK(c, region_covers(&m, qs, qe, need) == model_covers(model, qs, qe, need),
			      "round %d step %d: covers(%llu, %llu, %d)", round, step, (unsigned long long)qs,
			      (unsigned long long)qe, need);
			CHECK(c, region_overlaps(&m, qs, qe) == model_overlaps(model, qs, qe),
			      "round %d step %d: overlaps(%llu, %llu)", round, step, (unsigned long long)qs,
			      (unsigned long long)qe);
		}
		region_free(&m);
	}
	return 0;
}

/* ---- policy.c ---- */

static struct policy *load(struct ctx *c, const char *text)
{
	struct policy *p = NULL;
	if (policy_load(&p, text, c->why, sizeof c->why) < 0)
		return NULL;
	return p;
}

static struct pol_verdict check(const struct policy *p, int nr, uint64_t a0, uint64_t a1)
{
	uint64_t args[6] = { a0, a1, 0, 0, 0, 0 };
	return policy_check(p, nr, args);
}

static int t_policy_first_matching_rule(struct ctx *c)
{
	char text[1024];
	/* write: EPERM when fd 1 and count > 10, else allowed; getpid: killed; default ENOSYS. */
	snprintf(text, sizeof text,
		 "{\"dunePolicy\":1,\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,\"syscalls\":["
		 "{\"nr\":%d,\"name\":\"write\",\"rules\":["
		 "{\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1,\"args\":["
		 "{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"},{\"index\":1,\"value\":10,\"op\":\"SCMP_CMP_GT\"}]},"
		 "{\"action\":\"SCMP_ACT_ALLOW\"}]},"
		 "{\"nr\":%d,\"rules\":[{\"action\":\"SCMP_ACT_KILL_PROCESS\"}]},"
		 "{\"nr\":%d,\"rules\":[{\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
		 "{\"index\":1,\"value\":3,\"valueTwo\":2,\"op\":\"SCMP_CMP_MASKED_EQ\"}]}]}]}",
		 SYS_write, SYS_getpid, SYS_mmap);
	struct policy *p = load(c, text);
	CHECK(c, p, "%s", c->why);
	struct pol_verdict v = check(p, SYS_write, 1, 11);
	CHECK(c, v.action == ACT_ERRNO && v.errno_ret == 1, "both conditions hold: %s", policy_action_name(v.action));
	v = check(p, SYS_write, 1, 10);
	CHECK(c, v.action == ACT_ALLOW, "one condition fails, the next rule decides: %s", policy_action_name(v.action));
	v = check(p, SYS_write, 2, 11);
	CHECK(c, v.action == ACT_ALLOW);
	v = check(p, SYS_getpid, 0, 0);
	CHECK(c, v.action == ACT_KILL_PROCESS);
	v = check(p, SYS_mmap, 0, 6); /* 6 & 3 == 2 */
	CHECK(c, v.action == ACT_ALLOW, "masked equal: %s", policy_action_name(v.action));
	v = check(p, SYS_mmap, 0, 7); /* no rule holds: the default */
	CHECK(c, v.action == ACT_ERRNO && v.errno_ret == 38);
	v = check(p, SYS_read, 0, 0);
	CHECK(c, v.action == ACT_ERRNO && v.errno_ret == 38, "an unlisted syscall gets the default");
	v = check(p, -1, 0, 0);
	CHECK(c, v.action == ACT_ERRNO && v.errno_ret == 38, "a negative number gets the default");
	v = check(p, SYSCALL_MAX + 5, 0, 0);
	CHECK(c, v.action == ACT_ERRNO, "a number above the table gets the default");
	CHECK(c, policy_next_notify(p, 0) == -1);
	CHECK(c, p->text && !strcmp(p->text, text), "the text is kept for exec'd images");
	policy_free(p);
	return 0;
}

static int t_policy_operators(struct ctx *c)
{
	static const struct { const char *op; uint64_t value, yes, no; } ops[] = {
		{ "SCMP_CMP_NE", 5, 4, 5 }, { "SCMP_CMP_LT", 5, 4, 5 }, { "SCMP_CMP_LE", 5, 5, 6 },
		{ "SCMP_CMP_EQ", 5, 5, 4 }, { "SCMP_CMP_GE", 5, 5, 4 }, { "SCMP_CMP_GT", 5, 6, 5 },
	};
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		char text[512];
		snprintf(text, sizeof text,
			 "{\"dunePolicy\":1,\"defaultAction\":\"SCMP_ACT_KILL\",\"syscalls\":[{\"nr\":0,\"rules\":["
			 "{\"action\":\"SCMP_ACT_LOG\",\"args\":[{\"index\":5,\"value\":%llu,\"op\":\"%s\"}]}]}]}",
			 (unsigned long long)ops[i].value, ops[i].op);
		struct policy *p = load(c, text);
		CHECK(c, p, "%s: %s", ops[i].op, c->why);
		uint64_t args[6] = { 0, 0, 0, 0, 0, ops[i].yes };
		CHECK(c, policy_check(p, 0, args).action == ACT_LOG, "%s %llu", ops[i].op, (unsigned long long)ops[i].yes);
		args[5] = ops[i].no;
		CHECK(c, policy_check(p, 0, args).action == ACT_KILL_THREAD, "%s %llu", ops[i].op,
		      (unsigned long long)ops[i].no);
		policy_free(p);
	}
	return 0;
}

static int t_policy_notify_and_names(struct ctx *c)
{
	char text[512];
	snprintf(text, sizeof text,
		 "{\"dunePolicy\":1,\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
		 "{\"nr\":%d,\"rules\":[{\"action\":\"SCMP_ACT_NOTIFY\"}]},"
		 "{\"nr\":%d,\"rules\":[{\"action\":\"SCMP_ACT_TRACE\",\"errnoRet\":38}]}]}",
		 SYS_mkdirat, SYS_ptrace);
	struct policy *p = load(c, text);
	CHECK(c, p, "%s", c->why);
	CHECK(c, policy_next_notify(p, 0) == SYS_mkdirat);
	CHECK(c, policy_next_notify(p, SYS_mkdirat) == SYS_mkdirat);
	CHECK(c, policy_next_notify(p, SYS_mkdirat + 1) == -1);
	struct pol_verdict v = check(p, SYS_ptrace, 0, 0);
	CHECK(c, v.action == ACT_TRACE && v.errno_ret == 38);
	CHECK(c, !strcmp(policy_action_name(ACT_NOTIFY), "notify") && !strcmp(policy_action_name(ACT_KILL_PROCESS), "kill_process"));
	policy_free(p);
	return 0;
}

static int t_policy_rejects(struct ctx *c)
{
	static const struct { const char *text, *msg; } bad[] = {
		{ "[]", "not a monitor policy" },
		{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[]}", "not a monitor policy" },
		{ "{\"dunePolicy\":2,\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[]}", "policy format 2" },
		{ "{\"dunePolicy\":1,\"syscalls\":[]}", "missing \"defaultAction\"" },
		{ "{\"dunePolicy\":1,\"defaultAction\":\"SCMP_ACT_NOPE\",\"syscalls\":[]}", "unknown action \"SCMP_ACT_NOPE\"" },
		{ "{\"dunePolicy\":1,\"defaultAction\":\"SCMP_ACT_NOTIFY\",\"syscalls\":[]}", "cannot be used as default" },
		{ "{\"dunePolicy\":1,\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[]}", "without a 16-bit \"defaultErrnoRet\"" },
		{ "{\"dunePolicy\":1,\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":65536,\"syscalls\":[]}",
		  "without a 16-bit" },
		{ "{\"dunePolicy\":1,\"defaultAction\":\"SCMP_ACT_ALLOW\"}", "missing \"syscalls\"" },
		{ "{\"dunePolicy\":1,\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"rules\":[]}]}", "without an \"nr\"" },
		{ "{\"dunePolicy\":1,\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"nr\":512,\"rules\":[]}]}",
		  "without an \"nr\" below 512" },
		{ "{\"dunePolicy\":1,\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"nr\":3,\"rules\":[]}]}",
		  "syscall 3: no \"rules\"" },
		{ "{\"dunePolicy\":1,\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
		  "{\"nr\":3,\"rules\":[{\"action\":\"SCMP_ACT_LOG\"}]},{\"nr\":3,\"rules\":[{\"action\":\"SCMP_ACT_LOG\"}]}]}",
		  "syscall 3 listed twice" },
		{ "{\"dunePolicy\":1,\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"nr\":3,\"rules\":[{}]}]}",
		  "syscall 3: a rule without \"action\"" },
		{ "{\"dunePolicy\":1,\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"nr\":3,\"rules\":["
		  "{\"action\":\"SCMP_ACT_ERRNO\"}]}]}",
		  "syscall 3: SCMP_ACT_ERRNO without a 16-bit \"errnoRet\"" },
		{ "{\"dunePolicy\":1,\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"nr\":3,\"rules\":["
		  "{\"action\":\"SCMP_ACT_LOG\",\"args\":{}}]}]}",
		  "\"args\" is not an array" },
		{ "{\"dunePolicy\":1,\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"nr\":3,\"rules\":["
		  "{\"action\":\"SCMP_ACT_LOG\",\"args\":[{\"index\":6,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}]}",
		  "bad argument condition" },
		{ "{\"dunePolicy\":1,\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"nr\":3,\"rules\":["
		  "{\"action\":\"SCMP_ACT_LOG\",\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_MASKED_EQ\"}]}]}]}",
		  "bad argument condition" },
		{ "{\"dunePolicy\":1,\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"nr\":3,\"rules\":["
		  "{\"action\":\"SCMP_ACT_LOG\",\"args\":[{\"index\":0,\"value\":-1,\"op\":\"SCMP_CMP_EQ\"}]}]}]}",
		  "bad argument condition" },
		{ "{\"dunePolicy\":1,\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"nr\":3,\"rules\":["
		  "{\"action\":\"SCMP_ACT_LOG\",\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"},"
		  "{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"},{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"},"
		  "{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"},{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"},"
		  "{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"},{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}]}",
		  "more than 6 argument conditions" },
		{ "{\"dunePolicy\":1,", "at offset" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct policy *p = (struct policy *)1;
		char err[256] = "";
		int rc = policy_load(&p, bad[i].text, err, sizeof err);
		CHECK(c, rc == -EINVAL, "case %zu accepted (%d): %s", i, rc, bad[i].text);
		CHECK(c, p == (struct policy *)1, "case %zu: *out written on failure", i);
		CHECK(c, strstr(err, bad[i].msg), "case %zu: error \"%s\", expected \"%s\"", i, err, bad[i].msg);
	}
	return 0;
}

struct test {
	const char *name;
	int (*fn)(struct ctx *c);
};

static const struct test tests[] = {
	{ "json: a document with every type, exact u64, escapes", t_json_document },
	{ "json: malformed text is refused with what and where", t_json_rejects },
	{ "json: nesting is bounded at 64 levels", t_json_depth },
	{ "json: members keep their order, the first duplicate wins", t_json_members_in_order },
	{ "region: split, merge, remove, covers, overlaps, copy", t_region_split_merge },
	{ "region: random sets and removals agree with a byte model", t_region_model },
	{ "policy: the first rule whose conditions all hold decides, else the default", t_policy_first_matching_rule },
	{ "policy: every comparison operator", t_policy_operators },
	{ "policy: notify rules are found, TRACE keeps its errno", t_policy_notify_and_names },
	{ "policy: malformed policies are refused with a precise message", t_policy_rejects },
};

int main(int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : NULL;
	int passed = 0, failed = 0;
	setvbuf(stdout, NULL, _IOLBF, 0); /* the sanitizers' report comes after, on stderr */
	for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
		if (filter && !strstr(tests[i].name, filter))
			continue;
		struct ctx c = { "" };
		if (tests[i].fn(&c) == 0) {
			printf("ok   %s\n", tests[i].name);
			passed++;
		} else {
			printf("FAIL %s: %s\n", tests[i].name, c.why);
			failed++;
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
