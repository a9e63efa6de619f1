/* dune-init-test: plays `dune` against dune-init. Usage: dune-init-test <dune-init>.
 * Needs root (namespaces, mounts, mknod). Last line: "N passed, M failed". */
#include "cases.h"
#include "rootfs.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct suite s;
	memset(&s, 0, sizeof(s));
	if (argc < 2 || argv[1][0] != '/') {
		fprintf(stderr, "usage: %s /abs/path/to/dune-init [test-name-substring]\n", argv[0]);
		printf("0 passed, 1 failed\n");
		return 1;
	}
	s.dune_init = argv[1];
	const char *only = argc > 2 ? argv[2] : NULL;
	if (geteuid() != 0) {
		printf("FAIL dune-init tests need root (namespaces, mounts, mknod)\n0 passed, 1 failed\n");
		return 1;
	}
	/* Mounts the tests make for themselves stay in a mount namespace of their own. */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) {
		printf("FAIL private mount namespace for the tests: %m\n0 passed, 1 failed\n");
		return 1;
	}
	snprintf(s.dir, sizeof(s.dir), "/tmp/dune-init-test.XXXXXX");
	char err[512];
	/* 0755: the user-namespace test runs the rootfs's busybox as an unmapped uid. */
	if (!mkdtemp(s.dir) || chmod(s.dir, 0755) < 0 || make_rootfs(s.dir, err, sizeof(err)) < 0) {
		printf("FAIL setting up the busybox rootfs: %s\n0 passed, 1 failed\n", err);
		return 1;
	}
	snprintf(s.rootfs, sizeof(s.rootfs), "%s/rootfs", s.dir);
	for (int i = 0; i < test_case_count; i++) {
		if (only && !strstr(test_cases[i].name, only))
			continue;
		suite_begin(&s, test_cases[i].name);
		test_cases[i].run(&s);
		suite_end(&s);
	}
	remove_tree(s.dir);
	printf("%d passed, %d failed\n", s.passed, s.failed);
	return s.failed ? 1 : 0;
}
