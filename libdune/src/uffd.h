/* userfaultfd for Dune processes: the call, and the ioctls of the descriptors it makes. */
#ifndef DUNE_UFFD_H
#define DUNE_UFFD_H

#include <stdbool.h>
#include <stdint.h>

struct sb_proc;

/* Descriptors this process made with userfaultfd(2): only they take UFFDIO_* requests, so a
 * descriptor bound to another address space (inherited across fork, received with
 * SCM_RIGHTS) can never register or fill the monitor's memory in that other process. */
#define SB_UFFD_MAX 16
struct sb_uffds {
	int n;
	struct sb_uffd { uint64_t dev, ino; int pid; } fd[SB_UFFD_MAX];
};

/* userfaultfd(flags). The guest's accesses reach the host as KVM's, in kernel mode, so
 * UFFD_USER_MODE_ONLY is dropped where the kernel allows a descriptor for every fault
 * (CAP_SYS_PTRACE, or vm.unprivileged_userfaultfd=1); where it does not, the program gets
 * the user-mode-only descriptor it asked for and its own accesses to registered missing
 * pages end in SIGBUS (docs/security.md). The first one stops fault-around's populating in
 * this process: pages it would populate ahead would be faults the handler never asked for. */
long sb_userfaultfd(struct sb_proc *p, uint64_t flags);

/* ioctl(fd, req, arg) with a UFFDIO_* request: the argument is copied in, its ranges checked
 * against the program's memory, the host gets the copy, and what the kernel writes back is
 * copied out. */
long sb_uffd_ioctl(struct sb_proc *p, int fd, uint64_t req, uint64_t arg);

#endif
