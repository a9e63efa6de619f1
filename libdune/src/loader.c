#define _GNU_SOURCE
#include "loader.h"

#include <cpuid.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#define STACK_SIZE (8ull << 20)
#define PIE_BASE 0x555555554000ull

enum elf_check elf_classify(int fd, char *why, size_t whylen)
{
	unsigned char h[64];
	ssize_t n = pread(fd, h, sizeof h, 0);
	if (n < 0) {
		snprintf(why, whylen, "cannot read: %s", strerror(errno));
		return ELF_IO;
	}
	if (n >= 2 && h[0] == '#' && h[1] == '!')
		return ELF_SCRIPT;
	if (n < 64 || memcmp(h, ELFMAG, SELFMAG)) {
		snprintf(why, whylen, "not an ELF executable or script");
		return ELF_NOT_ELF;
	}
	if (h[EI_CLASS] != ELFCLASS64) {
		snprintf(why, whylen, "32-bit ELF executables are not supported (x86-64 only)");
		return ELF_WRONG_CLASS;
	}
	const Elf64_Ehdr *e = (const Elf64_Ehdr *)h;
	if (e->e_machine != EM_X86_64) {
		snprintf(why, whylen, "ELF for another machine (e_machine %u), only x86-64 runs", e->e_machine);
		return ELF_WRONG_MACHINE;
	}
	if (e->e_type != ET_EXEC && e->e_type != ET_DYN) {
		snprintf(why, whylen, "ELF file is not an executable (e_type %u)", e->e_type);
		return ELF_WRONG_TYPE;
	}
	return ELF_OK;
}

int elf_interpreter(int fd, char *out, size_t outlen)
{
	char head[256];
	ssize_t n = pread(fd, head, sizeof head - 1, 0);
	if (n < 2)
		return -1;
	head[n] = '\0';
	if (head[0] == '#' && head[1] == '!') {
		char *p = head + 2;
		while (*p == ' ' || *p == '\t')
			p++;
		size_t len = strcspn(p, " \t\n");
		if (!len || len >= outlen)
			return -1;
		memcpy(out, p, len);
		out[len] = '\0';
		return 0;
	}
	Elf64_Ehdr eh;
	if (pread(fd, &eh, sizeof eh, 0) != sizeof eh || eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 128)
		return -1;
	for (int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (uint64_t)i * sizeof ph)) != sizeof ph)
			return -1;
		if (ph.p_type != PT_INTERP)
			continue;
		size_t len = ph.p_filesz < outlen - 1 ? ph.p_filesz : outlen - 1;
		if (pread(fd, out, len, (off_t)ph.p_offset) != (ssize_t)len)
			return -1;
		out[len] = '\0';
		return 0;
	}
	return -1;
}

static int read_phdrs(int fd, Elf64_Ehdr *eh, Elf64_Phdr **ph, char *err, size_t errlen)
{
	if (pread(fd, eh, sizeof *eh, 0) != sizeof *eh) {
		snprintf(err, errlen, "short ELF header");
		return -ENOEXEC;
	}
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 || eh->e_phnum > 128) {
		snprintf(err, errlen, "bad program headers");
		return -ENOEXEC;
	}
	size_t sz = eh->e_phnum * sizeof(Elf64_Phdr);
	*ph = malloc(sz);
	if (!*ph)
		return -ENOMEM;
	if (pread(fd, *ph, sz, (off_t)eh->e_phoff) != (ssize_t)sz) {
		free(*ph);
		snprintf(err, errlen, "short program headers");
		return -ENOEXEC;
	}
	return 0;
}

static int pf_to_prot(uint32_t f)
{
	return ((f & PF_R) ? PROT_READ : 0) | ((f & PF_W) ? PROT_WRITE : 0) | ((f & PF_X) ? PROT_EXEC : 0);
}

/* Map one ELF object; returns its load bias. */
static int map_object(struct dune_vm *vm, int fd, const Elf64_Ehdr *eh, const Elf64_Phdr *ph,
		      uint64_t hint, uint64_t *bias_out, uint64_t *end_out, char *err, size_t errlen)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (PAGE_DOWN(ph[i].p_vaddr) < lo)
			lo = PAGE_DOWN(ph[i].p_vaddr);
		if (PAGE_UP(ph[i].p_vaddr + ph[i].p_memsz) > hi)
			hi = PAGE_UP(ph[i].p_vaddr + ph[i].p_memsz);
	}
	if (lo >= hi) {
		snprintf(err, errlen, "no loadable segments");
		return -ENOEXEC;
	}
	uint64_t span = hi - lo;
	void *at;
	if (eh->e_type == ET_EXEC) {
		at = mmap((void *)lo, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
		if (at == MAP_FAILED) {
			snprintf(err, errlen, "address range %#lx-%#lx is taken by the monitor", lo, hi);
			return -ENOMEM;
		}
	} else {
		at = mmap((void *)hint, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (at == MAP_FAILED) {
			snprintf(err, errlen, "cannot reserve %lu bytes: %s", span, strerror(errno));
			return -ENOMEM;
		}
	}
	uint64_t bias = (uint64_t)at - lo;
	int rc = vm_mirror_map(vm, (uint64_t)at, span, 0);
	if (rc)
		return rc;
	for (int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];
		if (p->p_type != PT_LOAD || p->p_memsz == 0)
			continue;
		int prot = pf_to_prot(p->p_flags);
		uint64_t va = bias + p->p_vaddr;
		uint64_t start = PAGE_DOWN(va);
		uint64_t file_end = va + p->p_filesz;
		uint64_t mem_end = PAGE_UP(va + p->p_memsz);
		if (p->p_filesz) {
			uint64_t off = PAGE_DOWN(p->p_offset);
			uint64_t len = PAGE_UP(file_end) - start;
			if (mmap((void *)start, len, prot | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, (off_t)off) == MAP_FAILED) {
				snprintf(err, errlen, "mapping segment: %s", strerror(errno));
				return -errno;
			}
			/* The tail of the last file page belongs to .bss. */
			if (p->p_memsz > p->p_filesz && (file_end & (PAGE_SIZE - 1)))
				memset((void *)file_end, 0, PAGE_UP(file_end) - file_end);
			if (!(prot & PROT_WRITE))
				mprotect((void *)start, len, prot);
		}
		uint64_t anon = PAGE_UP(file_end);
		if (!p->p_filesz)
			anon = start;
		if (mem_end > anon &&
		    mmap((void *)anon, mem_end - anon, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) {
			snprintf(err, errlen, "mapping bss: %s", strerror(errno));
			return -errno;
		}
		rc = vm_mirror_map(vm, start, mem_end - start, prot);
		if (rc)
			return rc;
	}
	*bias_out = bias;
	*end_out = bias + hi;
	return 0;
}

int elf_load(struct dune_vm *vm, int fd, struct elf_image *img, char *err, size_t errlen)
{
	Elf64_Ehdr eh;
	Elf64_Phdr *ph = NULL;
	int rc = read_phdrs(fd, &eh, &ph, err, errlen);
	if (rc)
		return rc;
	memset(img, 0, sizeof *img);
	char interp[4096] = "";
	uint64_t phdr_vaddr = 0;
	for (int i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_INTERP) {
			size_t n = ph[i].p_filesz < sizeof interp - 1 ? ph[i].p_filesz : sizeof interp - 1;
			if (pread(fd, interp, n, (off_t)ph[i].p_offset) != (ssize_t)n) {
				snprintf(err, errlen, "cannot read PT_INTERP");
				free(ph);
				return -ENOEXEC;
			}
			interp[n] = '\0';
		} else if (ph[i].p_type == PT_PHDR) {
			phdr_vaddr = ph[i].p_vaddr;
		} else if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0 && !phdr_vaddr) {
			phdr_vaddr = ph[i].p_vaddr + eh.e_phoff;
		}
	}
	uint64_t bias, end;
	rc = map_object(vm, fd, &eh, ph, PIE_BASE, &bias, &end, err, errlen);
	if (rc) {
		free(ph);
		return rc;
	}
	img->prog_entry = eh.e_entry + bias;
	img->entry = img->prog_entry;
	img->phdr = phdr_vaddr + bias;
	img->phnum = eh.e_phnum;
	img->phent = sizeof(Elf64_Phdr);
	img->brk_start = end;
	free(ph);
	if (!interp[0])
		return 0;

	int ifd = open(interp, O_RDONLY | O_CLOEXEC);
	if (ifd < 0) {
		snprintf(err, errlen, "interpreter %s: %s", interp, strerror(errno));
		return -ENOENT;
	}
	char why[160];
	if (elf_classify(ifd, why, sizeof why) != ELF_OK) {
		snprintf(err, errlen, "interpreter %s: %s", interp, why);
		close(ifd);
		return -ENOEXEC;
	}
	Elf64_Ehdr ih;
	Elf64_Phdr *iph;
	rc = read_phdrs(ifd, &ih, &iph, err, errlen);
	if (!rc) {
		uint64_t ibias, iend;
		rc = map_object(vm, ifd, &ih, iph, 0, &ibias, &iend, err, errlen);
		if (!rc) {
			img->interp_base = ibias;
			img->entry = ih.e_entry + ibias;
		}
		free(iph);
	}
	close(ifd);
	return rc;
}

uint64_t elf_map_vdso(struct dune_vm *vm)
{
	uint64_t base = getauxval(AT_SYSINFO_EHDR);
	FILE *f = fopen("/proc/self/maps", "re");
	if (!base || !f) {
		if (f)
			fclose(f);
		return 0;
	}
	char line[256];
	int found = 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		uint64_t flags;
		if (strstr(line, "[vdso]"))
			flags = PTE_U | PTE_A | PTE_MONITOR;
		else if (strstr(line, "[vvar"))
			flags = PTE_U | PTE_A | PTE_NX | PTE_MONITOR;
		else
			continue;
		pthread_mutex_lock(&vm->lock);
		if (vm_cover(vm, lo, hi) == 0 && pt_map(vm, lo, lo, hi - lo, flags) == 0)
			found |= strstr(line, "[vdso]") ? 1 : 2;
		pthread_mutex_unlock(&vm->lock);
	}
	fclose(f);
	return found == 3 ? base : 0;
}

int elf_build_stack(struct dune_vm *vm, const struct elf_image *img, char *const argv[],
		    char *const envp[], const char *execfn, struct elf_stack *out)
{
	uint8_t *base = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (base == MAP_FAILED)
		return -errno;
	int rc = vm_mirror_map(vm, (uint64_t)base, STACK_SIZE, PROT_READ | PROT_WRITE);
	if (rc)
		return rc;
	uint8_t *sp = base + STACK_SIZE;
	int argc = 0, envc = 0;
	while (argv[argc])
		argc++;
	while (envp[envc])
		envc++;
	size_t strs = strlen(execfn) + 1 + 7 + 16;
	for (int i = 0; i < argc; i++)
		strs += strlen(argv[i]) + 1;
	for (int i = 0; i < envc; i++)
		strs += strlen(envp[i]) + 1;
	if (strs > STACK_SIZE / 4)
		return -E2BIG;

#define PUSH_STR(s) ({ size_t l_ = strlen(s) + 1; sp -= l_; memcpy(sp, s, l_); (uint64_t)sp; })
	uint64_t execfn_p = PUSH_STR(execfn);
	uint64_t plat_p = PUSH_STR("x86_64");
	out->env_end = (uint64_t)sp;
	uint64_t *envp_p = malloc((size_t)(envc + 1) * 8), *argv_p = malloc((size_t)(argc + 1) * 8);
	if (!envp_p || !argv_p) {
		free(envp_p);
		free(argv_p);
		return -ENOMEM;
	}
	for (int i = envc - 1; i >= 0; i--)
		envp_p[i] = PUSH_STR(envp[i]);
	out->env_start = out->arg_end = (uint64_t)sp;
	for (int i = argc - 1; i >= 0; i--)
		argv_p[i] = PUSH_STR(argv[i]);
	out->arg_start = (uint64_t)sp;
#undef PUSH_STR
	sp -= 16;
	uint64_t random_p = (uint64_t)sp;
	if (getrandom(sp, 16, 0) != 16)
		memset(sp, 0x5a, 16);

	unsigned a, b, c, d;
	__cpuid(1, a, b, c, d);
	uint64_t auxv[][2] = {
		{ AT_PHDR, img->phdr }, { AT_PHENT, img->phent }, { AT_PHNUM, img->phnum },
		{ AT_PAGESZ, PAGE_SIZE }, { AT_BASE, img->interp_base }, { AT_FLAGS, 0 },
		{ AT_ENTRY, img->prog_entry }, { AT_UID, getuid() }, { AT_EUID, geteuid() },
		{ AT_GID, getgid() }, { AT_EGID, getegid() }, { AT_SECURE, 0 },
		{ AT_RANDOM, random_p }, { AT_HWCAP, d }, { AT_HWCAP2, 0 }, { AT_CLKTCK, 100 },
		{ AT_PLATFORM, plat_p }, { AT_EXECFN, execfn_p }, { AT_MINSIGSTKSZ, 2048 },
		{ img->vdso ? AT_SYSINFO_EHDR : AT_IGNORE, img->vdso }, { AT_NULL, 0 },
	};
	size_t words = 1 + (size_t)argc + 1 + (size_t)envc + 1 + sizeof auxv / 8;
	sp = (uint8_t *)(((uint64_t)sp - words * 8) & ~15ull);
	uint64_t *w = (uint64_t *)sp;
	*w++ = (uint64_t)argc;
	for (int i = 0; i < argc; i++)
		*w++ = argv_p[i];
	*w++ = 0;
	for (int i = 0; i < envc; i++)
		*w++ = envp_p[i];
	*w++ = 0;
	memcpy(w, auxv, sizeof auxv);
	free(envp_p);
	free(argv_p);
	out->rsp = (uint64_t)sp;
	return 0;
}
