/* The API without dune_enter: load a static program with dune_elf_load,
 * run it in ring 3 with dune_jump_to_user, see its system calls in a
 * handler (forwarding them), stop it at exit_group. */
#define _GNU_SOURCE
#include <dune.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct seen {
	int calls, writes, status;
};

static int on_syscall(struct dune_vcpu *v, struct dune_tf *tf, void *arg)
{
	(void)v;
	struct seen *s = arg;
	s->calls++;
	if (tf->rax == SYS_exit_group || tf->rax == SYS_exit) {
		s->status = (int)tf->rdi;
		return DUNE_STOP;
	}
	if (tf->rax == SYS_write || tf->rax == SYS_writev)
		s->writes++;
	if (tf->rax == SYS_arch_prctl && tf->rdi == 0x1002 /* ARCH_SET_FS */) {
		tf->fs_base = tf->rsi; /* the guest's, not this thread's */
		tf->rax = 0;
		return DUNE_RESUME;
	}
	if (tf->rax == SYS_brk || tf->rax == SYS_mmap || tf->rax == SYS_munmap || tf->rax == SYS_mprotect) {
		tf->rax = (uint64_t)-38; /* this runner does not mirror memory calls */
		return DUNE_RESUME;
	}
	tf->rax = (uint64_t)syscall((long)tf->rax, tf->rdi, tf->rsi, tf->rdx, tf->r10, tf->r8, tf->r9);
	return DUNE_RESUME;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	struct dune_vm *vm;
	struct dune_vcpu *v;
	struct dune_tf tf;
	int rc = dune_vm_create(&vm);
	if (!rc)
		rc = dune_vcpu_create(vm, &v);
	char *args[] = { argv[1], "api-user", "7", NULL };
	char *env[] = { NULL };
	if (!rc)
		rc = dune_elf_load(vm, argv[1], args, env, &tf);
	if (rc) {
		fprintf(stderr, "setup: %s\n", strerror(-rc));
		return 2;
	}
	struct seen s = { 0, 0, -1 };
	dune_register_syscall_handler(v, on_syscall, &s);
	rc = dune_jump_to_user(v, &tf);
	fflush(stdout);
	printf("returned %d, exit status %d, %d syscalls, %d writes\n", rc, s.status, s.calls, s.writes);
	return rc == 0 && s.status == 7 && s.writes >= 1 ? 0 : 1;
}
