/* Sealed memfd copies of an executable (self_image.h): dune-run and dune-init re-execute
 * from one, dune-init execs dune-run through one. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "self_image.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

#define SELF_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

/* Sealed against every change: a memfd we (or an earlier image) made. */
static int fully_sealed(int fd)
{
	int seals = fcntl(fd, F_GET_SEALS);
	return seals >= 0 && (seals & SELF_SEALS) == SELF_SEALS;
}

/* What exec loads ends with the last PT_LOAD's file bytes: the debug
 * sections and section headers after it (a quarter of the file) need no
 * copy. Read from the file's own program headers (the whole file when they
 * cannot be read). */
static off_t loaded_size(int src, off_t file_size)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph[64];
	if (pread(src, &eh, sizeof eh, 0) != (ssize_t)sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof ph[0] || eh.e_phnum > 64)
		return file_size;
	size_t len = (size_t)eh.e_phnum * sizeof ph[0];
	if (pread(src, ph, len, (off_t)eh.e_phoff) != (ssize_t)len)
		return file_size;
	off_t end = 0;
	for (int i = 0; i < eh.e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && (off_t)(ph[i].p_offset + ph[i].p_filesz) > end)
			end = (off_t)(ph[i].p_offset + ph[i].p_filesz);
	return end > 0 && end < file_size ? end : file_size;
}

int self_image_copy(int src, const char *name, char *err, size_t errlen)
{
	struct stat st;
	if (fstat(src, &st) < 0) {
		snprintf(err, errlen, "stat of the image: %s", strerror(errno));
		return -errno;
	}
	st.st_size = loaded_size(src, st.st_size);
	/* vm.memfd_noexec=1 makes memfds non-executable unless MFD_EXEC is
	 * asked for; kernels before 6.3 do not know the flag. */
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (fd < 0 && errno == EINVAL)
		fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		snprintf(err, errlen, "memfd_create: %s", strerror(errno));
		return -errno;
	}
	off_t off = 0;
	while (off < st.st_size) {
		ssize_t n = sendfile(fd, src, &off, (size_t)(st.st_size - off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;
			snprintf(err, errlen, "copying the image: %s", strerror(e));
			close(fd);
			return -e;
		}
	}
	if (fcntl(fd, F_ADD_SEALS, SELF_SEALS) < 0) {
		snprintf(err, errlen, "sealing the image copy: %s", strerror(errno));
		close(fd);
		return -errno;
	}
	return fd;
}

int self_image_ensure(const char *name, char *const argv[], char *const envp[], char *err, size_t errlen)
{
	int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (self < 0) {
		snprintf(err, errlen, "/proc/self/exe: %s", strerror(errno));
		return -errno;
	}
	if (fully_sealed(self))
		return self;
	int copy = self_image_copy(self, name, err, errlen);
	close(self);
	if (copy < 0)
		return copy;
	/* Close-on-exec is fine: the kernel keeps the file as the new image's exe. */
	syscall(SYS_execveat, copy, "", argv, envp, AT_EMPTY_PATH);
	int e = errno;
	snprintf(err, errlen, "executing its sealed copy: %s", strerror(e));
	close(copy);
	return -e;
}
