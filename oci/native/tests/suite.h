/* Test bookkeeping: one suite, named tests, checks that print what failed. */
#ifndef DUNE_TEST_SUITE_H
#define DUNE_TEST_SUITE_H

struct suite {
	const char *dune_init;  /* absolute path of the binary under test */
	char dir[256];          /* scratch directory */
	char rootfs[300];       /* dir/rootfs */
	int passed, failed;
	const char *name;       /* running test */
	int checks_failed;      /* in the running test */
};

void suite_begin(struct suite *s, const char *name);
void suite_end(struct suite *s);
/* Records a failed check (and prints why) when cond is false; returns cond. */
int check(struct suite *s, int cond, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* check() that haystack contains needle, printing the haystack when not. */
int check_contains(struct suite *s, const char *haystack, const char *needle, const char *what);

#endif
