/* Test helper for SeccompKernelTests: installs a seccomp filter compiled by
 * SeccompCompiler (raw struct sock_filter records read from a file), then makes one
 * system call and prints its result, so the test sees what the real kernel decided.
 *
 * usage: loader FILTER-FILE FLAGS mkdir PATH
 *        loader FILTER-FILE FLAGS unshare-user
 * exit 0 after printing "result=R errno=E"; exit 2 if the filter cannot be installed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_INSNS 4096

static int install(const char *path, unsigned long flags)
{
    struct sock_filter *insns = calloc(MAX_INSNS + 1, sizeof *insns);
    if (insns == NULL)
        return -1;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror("open filter");
        return -1;
    }
    /* One slot more than the kernel accepts, so an oversized file is noticed. */
    size_t n = fread(insns, sizeof *insns, MAX_INSNS + 1, f);
    fclose(f);
    if (n == 0 || n > MAX_INSNS) {
        fprintf(stderr, "filter has %zu instructions\n", n);
        return -1;
    }
    struct sock_fprog prog = { .len = (unsigned short)n, .filter = insns };
    /* Unprivileged filters need no_new_privs; the runtime sets it too. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        perror("PR_SET_NO_NEW_PRIVS");
        return -1;
    }
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog) != 0) {
        perror("seccomp");
        return -1;
    }
    free(insns);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s FILTER FLAGS (mkdir PATH | unshare-user)\n", argv[0]);
        return 2;
    }
    if (install(argv[1], strtoul(argv[2], NULL, 0)) != 0)
        return 2;
    long r;
    if (strcmp(argv[3], "mkdir") == 0 && argc == 5)
        r = syscall(SYS_mkdir, argv[4], 0755);   /* the raw syscall, not libc's choice */
    else if (strcmp(argv[3], "unshare-user") == 0)
        r = syscall(SYS_unshare, CLONE_NEWUSER);
    else {
        fprintf(stderr, "unknown operation %s\n", argv[3]);
        return 2;
    }
    printf("result=%ld errno=%d\n", r, r == 0 ? 0 : errno);
    return 0;
}
