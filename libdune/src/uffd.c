/* userfaultfd for Dune processes (uffd.h).
 *
 * A guest access to a page registered for missing or write-protect faults reaches the
 * descriptor the way a native access does: KVM resolves the guest's fault through the host
 * process's page tables, and the handler's UFFDIO_COPY (or WRITEPROTECT...) lets the vCPU
 * go on. What the monitor adds is the usual pointer discipline: every range a request names
 * must be the program's own memory, checked on the monitor's copy of the argument (the
 * program cannot change it between the check and the call), and only descriptors this
 * process created are accepted. */
#define _GNU_SOURCE
#include "uffd.h"
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Flags userfaultfd(2) takes (UFFD_USER_MODE_ONLY: Linux 5.11). */
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#define UFFD_FLAGS (O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY)

/* Events whose messages hand the reader a new descriptor for another address space (fork),
 * which the monitor could not tell from its own: refused in UFFDIO_API. */
#define UFFD_REFUSED_FEATURES UFFD_FEATURE_EVENT_FORK

long sb_userfaultfd(struct sb_proc *p, uint64_t flags)
{
	if (flags & ~(uint64_t)UFFD_FLAGS)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	int full = p->uffds.n == SB_UFFD_MAX;
	pthread_mutex_unlock(&p->lock);
	if (full)
		return -EMFILE;
	long fd = -EPERM;
	if (flags & UFFD_USER_MODE_ONLY)
		fd = host_syscall(SYS_userfaultfd, flags & ~(uint64_t)UFFD_USER_MODE_ONLY, 0, 0, 0, 0, 0);
	if (fd == -EPERM)
		fd = host_syscall(SYS_userfaultfd, flags, 0, 0, 0, 0, 0);
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat((int)fd, &st) < 0) {
		host_syscall(SYS_close, (uint64_t)fd, 0, 0, 0, 0, 0);
		return -EIO;
	}
	/* Guest pages are filled by the program's handler now, not ahead of it (fault-around
	 * belongs to the address space: a vfork child's is its parent's). */
	fa_stop(&p->mm->fa, p->vm);
	pthread_mutex_lock(&p->lock);
	/* Entries of closed descriptors are not pruned: their anonymous inodes are never reused
	 * while an entry could match, so at worst the table fills (EMFILE). */
	int slot = p->uffds.n < SB_UFFD_MAX ? p->uffds.n++ : -1;
	if (slot >= 0)
		p->uffds.fd[slot] = (struct sb_uffd){ st.st_dev, st.st_ino, getpid() };
	pthread_mutex_unlock(&p->lock);
	if (slot < 0) {
		host_syscall(SYS_close, (uint64_t)fd, 0, 0, 0, 0, 0);
		return -EMFILE;
	}
	return fd;
}

/* Was fd made by userfaultfd(2) in this process (not inherited, not received)? */
static bool own_uffd(struct sb_proc *p, int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return false;
	int pid = getpid();
	bool found = false;
	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < p->uffds.n && !found; i++)
		found = p->uffds.fd[i].dev == st.st_dev && p->uffds.fd[i].ino == st.st_ino &&
			p->uffds.fd[i].pid == pid;
	pthread_mutex_unlock(&p->lock);
	return found;
}

/* A range a request names: the program's own memory (any protection: the kernel checks
 * the registration of what it lies in). */
static bool range_ok(struct sb_proc *p, const struct uffdio_range *r)
{
	return sb_range_ok(p, r->start, r->len, 0);
}

long sb_uffd_ioctl(struct sb_proc *p, int fd, uint64_t req, uint64_t arg)
{
	union {
		struct uffdio_api api;
		struct uffdio_register reg;
		struct uffdio_range range;
		struct uffdio_copy copy;
		struct uffdio_zeropage zero;
		struct uffdio_writeprotect wp;
		struct uffdio_continue cont;
	} a;
	size_t size = _IOC_SIZE(req);
	bool out = _IOC_DIR(req) & _IOC_READ;
	if (size > sizeof a || !own_uffd(p, fd))
		return -EPERM;
	if (!sb_range_ok(p, arg, size, out ? PROT_READ | PROT_WRITE : PROT_READ))
		return -EFAULT;
	memcpy(&a, (const void *)arg, size);
	switch (req) {
	case UFFDIO_API:
		if (a.api.features & UFFD_REFUSED_FEATURES)
			return -EINVAL;
		break;
	case UFFDIO_REGISTER:
		if (!range_ok(p, &a.reg.range))
			return -EFAULT;
		break;
	case UFFDIO_UNREGISTER: case UFFDIO_WAKE:
		if (!range_ok(p, &a.range))
			return -EFAULT;
		break;
	case UFFDIO_COPY:
		if (!sb_range_ok(p, a.copy.dst, a.copy.len, 0) || !sb_range_ok(p, a.copy.src, a.copy.len, PROT_READ))
			return -EFAULT;
		break;
	case UFFDIO_ZEROPAGE:
		if (!range_ok(p, &a.zero.range))
			return -EFAULT;
		break;
	case UFFDIO_WRITEPROTECT:
		if (!range_ok(p, &a.wp.range))
			return -EFAULT;
		break;
	case UFFDIO_CONTINUE:
		if (!range_ok(p, &a.cont.range))
			return -EFAULT;
		break;
	default:
		return -EINVAL;
	}
	long rc = host_syscall(SYS_ioctl, (uint64_t)fd, req, (uint64_t)&a, 0, 0, 0);
	if (req == UFFDIO_API && rc == 0)
		a.api.features &= ~(uint64_t)UFFD_REFUSED_FEATURES;
	if (out)
		memcpy((void *)arg, &a, size);
	return rc;
}

