/* The test cases: each plays dune against dune-init and checks what a user relies on. */
#ifndef DUNE_TEST_CASES_H
#define DUNE_TEST_CASES_H

#include "suite.h"

struct test_case {
	const char *name;
	void (*run)(struct suite *s);
};

extern const struct test_case test_cases[];
extern const int test_case_count;

#endif
