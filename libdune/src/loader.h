/* ELF loading into a Dune VM: maps an x86-64 executable (and its PT_INTERP
 * interpreter) into host memory, mirrors it into the guest page tables and
 * builds the initial stack with argv, envp and auxv. */
#ifndef DUNE_LOADER_H
#define DUNE_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "vm.h"

struct elf_image {
	uint64_t entry;    /* where the first instruction runs (interpreter's if any) */
	uint64_t prog_entry;
	uint64_t phdr, phnum, phent;
	uint64_t interp_base;
	uint64_t brk_start; /* page after the program's highest segment */
	uint64_t vdso;      /* AT_SYSINFO_EHDR, 0 for none */
};

/* Map the host's vDSO and its data pages into the guest (not as program
 * memory: the program cannot unmap or change them); returns the vDSO base
 * or 0 when there is none. */
uint64_t elf_map_vdso(struct dune_vm *vm);

/* Why a file cannot be run (for the 126/127 messages). */
enum elf_check { ELF_OK, ELF_SCRIPT, ELF_NOT_ELF, ELF_WRONG_CLASS, ELF_WRONG_MACHINE, ELF_WRONG_TYPE, ELF_IO };
enum elf_check elf_classify(int fd, char *why, size_t whylen);

/* The interpreter an ELF (PT_INTERP) or script (#!) asks for; 0 if it
 * names one (copied to out), -1 if none. */
int elf_interpreter(int fd, char *out, size_t outlen);

/* Load the program at path (already opened as fd). err gets a reason. */
int elf_load(struct dune_vm *vm, int fd, struct elf_image *img, char *err, size_t errlen);
/* The initial stack elf_build_stack wrote: the first rsp, and where the argument and
 * environment strings lie (contiguous, the kernel's layout: what /proc/PID/cmdline and
 * environ read once the host process's mm points at them). */
struct elf_stack {
	uint64_t rsp;
	uint64_t arg_start, arg_end, env_start, env_end;
};
/* Allocate the stack and write argc/argv/envp/auxv. */
int elf_build_stack(struct dune_vm *vm, const struct elf_image *img, char *const argv[],
		    char *const envp[], const char *execfn, struct elf_stack *out);

#endif
