/* Test bookkeeping. */
#include "suite.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void suite_begin(struct suite *s, const char *name)
{
	s->name = name;
	s->checks_failed = 0;
	fflush(stdout);
}

void suite_end(struct suite *s)
{
	if (s->checks_failed) {
		s->failed++;
		printf("FAIL %s\n", s->name);
	} else {
		s->passed++;
		printf("ok   %s\n", s->name);
	}
	fflush(stdout);
}

int check(struct suite *s, int cond, const char *fmt, ...)
{
	if (cond)
		return 1;
	s->checks_failed++;
	printf("     %s: ", s->name);
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return 0;
}

int check_contains(struct suite *s, const char *haystack, const char *needle, const char *what)
{
	if (strstr(haystack, needle))
		return 1;
	return check(s, 0, "%s lacks \"%s\"; it was:\n---\n%s\n---", what, needle, haystack);
}
