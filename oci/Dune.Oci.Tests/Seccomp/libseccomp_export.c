/* Test helper for SeccompLibseccompParityTests: builds a filter with libseccomp the way
 * runc does (seccomp_init(default), seccomp_arch_add, seccomp_rule_add per syscall name
 * resolved on the native ABI, rules equal to the default action skipped) and exports
 * the BPF, so the test can compare libseccomp's verdicts with SeccompCompiler's.
 *
 * usage: libseccomp_export SPEC-FILE OUT-FILE
 * SPEC-FILE lines:  default ACTION | badarch ACTION | arch x86|x32|x86_64
 *                   rule ACTION NAME NARGS [INDEX OP VALUE VALUETWO]...
 * (ACTION is the filter return value, OP libseccomp's enum scmp_compare; ACTION, VALUE
 * and VALUETWO in hex, 0x optional). Unknown names are skipped, as runc does.
 */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ARGS 6

static int add_rule(scmp_filter_ctx ctx, char *line)
{
    char name[128];
    unsigned long long action;
    int nargs, used;
    if (sscanf(line, "rule %llx %127s %d%n", &action, name, &nargs, &used) != 3 || nargs < 0 || nargs > MAX_ARGS)
        return -EINVAL;
    struct scmp_arg_cmp cmp[MAX_ARGS];
    char *p = line + used;
    for (int i = 0; i < nargs; i++) {
        unsigned int index, op;
        unsigned long long v1, v2;
        if (sscanf(p, " %u %u %llx %llx%n", &index, &op, &v1, &v2, &used) != 4)
            return -EINVAL;
        p += used;
        cmp[i] = (struct scmp_arg_cmp){ .arg = index, .op = (enum scmp_compare)op, .datum_a = v1, .datum_b = v2 };
    }
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR)
        return 0;
    return seccomp_rule_add_array(ctx, (uint32_t)action, nr, (unsigned int)nargs, cmp);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s SPEC OUT\n", argv[0]);
        return 2;
    }
    FILE *in = fopen(argv[1], "r");
    if (in == NULL) {
        perror("spec");
        return 2;
    }
    char line[1024];
    scmp_filter_ctx ctx = NULL;
    unsigned long long def = 0;
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof line, in) != NULL) {
        unsigned long long value;
        char arch[16];
        if (sscanf(line, "default %llx", &value) == 1) {
            def = value;
            ctx = seccomp_init((uint32_t)value);
            rc = ctx == NULL ? -ENOMEM : 0;
        } else if (ctx == NULL) {
            rc = -EINVAL;   /* "default" must come first */
        } else if (sscanf(line, "badarch %llx", &value) == 1) {
            rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, (uint32_t)value);
        } else if (sscanf(line, "arch %15s", arch) == 1) {
            uint32_t token = seccomp_arch_resolve_name(arch);
            rc = token == 0 ? -EINVAL : seccomp_arch_add(ctx, token);
            if (rc == -EEXIST)   /* the native ABI is always there */
                rc = 0;
        } else if (strncmp(line, "rule ", 5) == 0) {
            unsigned long long action = 0;
            sscanf(line, "rule %llx", &action);
            if (action != def)   /* runc skips these; libseccomp would refuse them */
                rc = add_rule(ctx, line);
        } else {
            rc = -EINVAL;
        }
        if (rc != 0)
            fprintf(stderr, "failed (%d) at: %s", rc, line);
    }
    fclose(in);
    if (rc != 0 || ctx == NULL)
        return 1;
    int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        perror("out");
        return 2;
    }
    rc = seccomp_export_bpf(ctx, fd);
    close(fd);
    seccomp_release(ctx);
    if (rc != 0) {
        fprintf(stderr, "export failed: %d\n", rc);
        return 1;
    }
    return 0;
}
