/* dunectl guest TEST: a small 64-bit ring-0 guest run through /dev/dune in this process's own
 * memory, guest-physical == host-virtual as libdune lays it out, with guest-physical 0x1000
 * (libdune's exit page) and 0x2000 in no slot. Each TEST checks one behaviour of the module
 * and prints "ok" (exit 0) or what went wrong (exit 1).
 *   basic    FETCH exit at 0x1000 with the registers the guest computed; the guest read and
 *            wrote the process's own pages
 *   mmio     a load from 0x2000 is an MMIO exit there
 *   efault   a store to a page the process maps read-only is an EFAULT exit; the page is intact
 *   remap    the process replaces a page the guest read (mmap MAP_FIXED): the guest then reads
 *            the new page (the MMU notifier dropped the old translation)
 *   args     invalid arguments are refused: slots (kernel address, unaligned, overlapping,
 *            beyond 48 bits), MSRs (unknown, non-canonical), EFER.SVME, unknown ioctls
 *   fork     a forked child cannot run its parent's VM (EIO) but can create and run its own
 *   signal   a signal interrupts a guest spinning forever: DUNE_RUN fails with EINTR
 *   kick     immediate_exit makes DUNE_RUN fail with EINTR without entering
 *   xsave    the guest FPU state round-trips through DUNE_GET_XSAVE/DUNE_SET_XSAVE
 *   events   int3, int $0x21 and ud2, each delivered through the guest's IDT onto a stack page
 *            the nested table does not map yet (the exit interrupts the delivery): the frame
 *            holds the address after int3 and int $0x21 (traps) and ud2's own (a fault)
 *   osxsave  the guest's CR4.OSXSAVE is the host's (it runs with the host's XCR0) even when
 *            user space leaves it clear: XGETBV works and returns the host's XCR0, CPUID says
 *            OSXSAVE
 *   spin     spins in the guest forever (prints "spinning"): for the kill tests */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <dune/dune.h>

/* The guest's code (copied into a page of the region): rax += rbx; rcx = *rsi; *rdi = rcx;
 * jump to rdx. And a loop. Position independent, no stack. */
extern const char guest_basic[], guest_basic_end[], guest_spin[], guest_spin_end[];
extern const char guest_int3[], guest_int21[], guest_ud2[], guest_events_end[];
extern const char guest_xcr[], guest_xcr_end[];
__asm__(".pushsection .rodata\n"
	"guest_basic: add %rbx, %rax; mov (%rsi), %rcx; mov %rcx, (%rdi); jmp *%rdx\n"
	"guest_basic_end:\n"
	"guest_spin: jmp guest_spin\n"
	"guest_spin_end:\n"
	/* One event each (every IDT entry leads to 0x1000): int3, int $0x21, ud2. */
	"guest_int3: int3; hlt\n"
	"guest_int21: int $0x21; hlt\n"
	"guest_ud2: ud2; hlt\n"
	"guest_events_end:\n"
	/* rsi:rdi = XCR0, rcx = CPUID.1:ECX, then the exit page. */
	"guest_xcr: xor %ecx, %ecx; xgetbv; mov %rax, %rsi; mov %rdx, %rdi\n"
	"  mov $1, %eax; xor %ecx, %ecx; cpuid; mov $0x1000, %r8d; jmp *%r8\n"
	"guest_xcr_end:\n"
	".popsection\n");

#define PG 4096UL
#define REGION (2UL << 20)
/* Pages of the region: seven page-table pages, then code, data, out, ro, an IDT and GDT, and
 * three stacks for the event tests. */
enum { PML4, PDPT_LO, PD_LO, PT_LO, PDPT_HI, PD_HI, PT_HI, CODE, DATA, OUT, RO, TABLES, STACK1,
       STACK2, STACK3, NPAGES };

struct guest {
	int dev, vm, vcpu;
	uint8_t *region; /* 2 MiB aligned */
	struct dune_run *run;
};

static int fail(const char *what)
{
	printf("FAIL %s: %s\n", what, strerror(errno));
	return 1;
}

static uint64_t *page(struct guest *g, int n) { return (uint64_t *)(g->region + n * PG); }
static uint64_t addr(struct guest *g, int n) { return (uint64_t)(uintptr_t)(g->region + n * PG); }

#define PTE_P 1
#define PTE_W 2

/* Identity map (guest-virtual == guest-physical) of the region's pages and of 0x1000, 0x2000. */
static void build_tables(struct guest *g)
{
	uint64_t r = addr(g, 0);
	unsigned i;

	page(g, PML4)[0] = addr(g, PDPT_LO) | PTE_P | PTE_W;
	page(g, PDPT_LO)[0] = addr(g, PD_LO) | PTE_P | PTE_W;
	page(g, PD_LO)[0] = addr(g, PT_LO) | PTE_P | PTE_W;
	page(g, PT_LO)[1] = 0x1000 | PTE_P | PTE_W;
	page(g, PT_LO)[2] = 0x2000 | PTE_P | PTE_W;
	page(g, PML4)[(r >> 39) & 511] = addr(g, PDPT_HI) | PTE_P | PTE_W;
	page(g, PDPT_HI)[(r >> 30) & 511] = addr(g, PD_HI) | PTE_P | PTE_W;
	page(g, PD_HI)[(r >> 21) & 511] = addr(g, PT_HI) | PTE_P | PTE_W;
	for (i = 0; i < NPAGES; i++)
		page(g, PT_HI)[((r >> 12) & 511) + i] = addr(g, i) | PTE_P | PTE_W;
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, int l)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->l = (uint8_t)l;
	s->db = !l;
	s->g = 1;
	s->limit = 0xffffffff;
}

/* Registers for a ring-0 64-bit guest at code with no stack and no IDT (an exception is a
 * triple fault: SHUTDOWN). */
static void set_cpu(struct guest *g, const char *code, const char *end)
{
	struct dune_run *run = g->run;

	memcpy(page(g, CODE), code, (size_t)(end - code));
	memset(&run->sregs, 0, sizeof(run->sregs));
	memset(&run->regs, 0, sizeof(run->regs));
	seg(&run->sregs.cs, 8, 0xb, 1);
	seg(&run->sregs.ds, 0x10, 3, 0);
	run->sregs.es = run->sregs.fs = run->sregs.gs = run->sregs.ss = run->sregs.ds;
	run->sregs.tr.type = 0xb;
	run->sregs.tr.present = 1;
	run->sregs.tr.limit = 0x67;
	run->sregs.ldt.unusable = 1;
	run->sregs.cr0 = 0x80050033; /* PG WP NE ET MP PE */
	run->sregs.cr3 = addr(g, PML4);
	run->sregs.cr4 = 0x20;       /* PAE */
	run->sregs.efer = 0x500;     /* LME LMA */
	run->regs.rip = addr(g, CODE);
	run->regs.rflags = 2;
	run->dirty = DUNE_DIRTY_REGS | DUNE_DIRTY_SREGS;
}

static int guest_open(struct guest *g)
{
	struct dune_slot slot;
	uint8_t *m;

	g->dev = open("/dev/dune", O_RDWR | O_CLOEXEC);
	if (g->dev < 0)
		return fail("open /dev/dune");
	g->vm = ioctl(g->dev, DUNE_CREATE_VM, 0);
	if (g->vm < 0)
		return fail("DUNE_CREATE_VM");
	m = mmap(NULL, 2 * REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return fail("mmap");
	g->region = (uint8_t *)(((uintptr_t)m + REGION - 1) & ~(REGION - 1));
	memset(g->region, 0, NPAGES * PG);
	build_tables(g);
	slot = (struct dune_slot){ .gpa = addr(g, 0), .size = REGION, .hva = addr(g, 0) };
	if (ioctl(g->vm, DUNE_SET_SLOT, &slot))
		return fail("DUNE_SET_SLOT");
	g->vcpu = ioctl(g->vm, DUNE_CREATE_VCPU, 0);
	if (g->vcpu < 0)
		return fail("DUNE_CREATE_VCPU");
	g->run = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, g->vcpu, 0);
	if (g->run == MAP_FAILED)
		return fail("mmap vcpu");
	return 0;
}

static int run_basic(struct guest *g, uint64_t src, uint64_t dst)
{
	set_cpu(g, guest_basic, guest_basic_end);
	g->run->regs.rax = 100;
	g->run->regs.rbx = 23;
	g->run->regs.rsi = src;
	g->run->regs.rdi = dst;
	g->run->regs.rdx = 0x1000;
	return ioctl(g->vcpu, DUNE_RUN, 0);
}

static int expect_exit(struct guest *g, uint32_t reason, uint64_t addr_)
{
	if (g->run->exit_reason != reason || g->run->exit_addr != addr_) {
		printf("FAIL exit %u at %#llx (code %#llx info %#llx %#llx), expected %u at %#llx; "
		       "rip %#llx cr3 %#llx region %#llx\n",
		       g->run->exit_reason, (unsigned long long)g->run->exit_addr,
		       (unsigned long long)g->run->exit_code, (unsigned long long)g->run->exit_info1,
		       (unsigned long long)g->run->exit_info2, reason, (unsigned long long)addr_,
		       (unsigned long long)g->run->regs.rip, (unsigned long long)g->run->sregs.cr3,
		       (unsigned long long)addr(g, 0));
		return 1;
	}
	return 0;
}

static int t_basic(struct guest *g)
{
	page(g, DATA)[0] = 0x1122334455667788ULL;
	if (run_basic(g, addr(g, DATA), addr(g, OUT)))
		return fail("DUNE_RUN");
	if (expect_exit(g, DUNE_EXIT_FETCH, 0x1000))
		return 1;
	if (g->run->regs.rax != 123 || g->run->regs.rcx != 0x1122334455667788ULL ||
	    g->run->regs.rip != 0x1000 || page(g, OUT)[0] != 0x1122334455667788ULL) {
		printf("FAIL rax %llu rcx %#llx rip %#llx out %#llx\n",
		       (unsigned long long)g->run->regs.rax, (unsigned long long)g->run->regs.rcx,
		       (unsigned long long)g->run->regs.rip, (unsigned long long)page(g, OUT)[0]);
		return 1;
	}
	return 0;
}

static int t_mmio(struct guest *g)
{
	if (run_basic(g, 0x2000, addr(g, OUT)))
		return fail("DUNE_RUN");
	return expect_exit(g, DUNE_EXIT_MMIO, 0x2000);
}

static int t_efault(struct guest *g)
{
	page(g, DATA)[0] = 7;
	page(g, RO)[0] = 5;
	if (mprotect(page(g, RO), PG, PROT_READ))
		return fail("mprotect");
	if (run_basic(g, addr(g, DATA), addr(g, RO)))
		return fail("DUNE_RUN");
	if (expect_exit(g, DUNE_EXIT_EFAULT, addr(g, RO)))
		return 1;
	if (page(g, RO)[0] != 5) {
		printf("FAIL the read-only page was written\n");
		return 1;
	}
	return 0;
}

static int t_remap(struct guest *g)
{
	page(g, DATA)[0] = 111;
	if (run_basic(g, addr(g, DATA), addr(g, OUT)) || expect_exit(g, DUNE_EXIT_FETCH, 0x1000))
		return 1;
	if (mmap(page(g, DATA), PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		 -1, 0) == MAP_FAILED)
		return fail("mmap MAP_FIXED");
	page(g, DATA)[0] = 222;
	if (run_basic(g, addr(g, DATA), addr(g, OUT)) || expect_exit(g, DUNE_EXIT_FETCH, 0x1000))
		return 1;
	if (g->run->regs.rcx != 222 || page(g, OUT)[0] != 222) {
		printf("FAIL the guest read %llu after the remap, not 222\n",
		       (unsigned long long)g->run->regs.rcx);
		return 1;
	}
	return 0;
}

static int refused(int rc, int err, const char *what)
{
	if (rc != -1 || errno != err) {
		printf("FAIL %s: rc %d errno %d, expected errno %d\n", what, rc, errno, err);
		return 1;
	}
	return 0;
}

static int t_args(struct guest *g)
{
	struct dune_slot s;
	struct dune_msrs m = { .nmsrs = 1 };
	int bad = 0;

	s = (struct dune_slot){ .gpa = 0x40000000, .size = PG, .hva = 0xffff888000000000ULL };
	bad |= refused(ioctl(g->vm, DUNE_SET_SLOT, &s), EINVAL, "slot at a kernel address");
	s = (struct dune_slot){ .gpa = 0x40000000, .size = PG, .hva = addr(g, DATA) + 8 };
	bad |= refused(ioctl(g->vm, DUNE_SET_SLOT, &s), EINVAL, "unaligned slot");
	s = (struct dune_slot){ .gpa = addr(g, 0) + PG, .size = PG, .hva = addr(g, DATA) };
	bad |= refused(ioctl(g->vm, DUNE_SET_SLOT, &s), EEXIST, "overlapping slot");
	s = (struct dune_slot){ .gpa = 1ULL << 48, .size = PG, .hva = addr(g, DATA) };
	bad |= refused(ioctl(g->vm, DUNE_SET_SLOT, &s), EINVAL, "slot beyond 48 bits");
	s = (struct dune_slot){ .gpa = 0x40000000, .size = 0, .hva = addr(g, DATA) };
	bad |= refused(ioctl(g->vm, DUNE_SET_SLOT, &s), EINVAL, "empty slot");
	bad |= refused(ioctl(g->vm, DUNE_SET_SLOT, (void *)8), EFAULT, "slot at a bad pointer");
	m.entries[0] = (struct dune_msr){ .index = 0x10 /* TSC */, .value = 0 };
	bad |= refused(ioctl(g->vcpu, DUNE_SET_MSRS, &m), EINVAL, "MSR not in the list");
	m.entries[0] = (struct dune_msr){ .index = 0xc0000082 /* LSTAR */, .value = 1ULL << 60 };
	bad |= refused(ioctl(g->vcpu, DUNE_SET_MSRS, &m), EINVAL, "non-canonical LSTAR");
	m.nmsrs = 17;
	bad |= refused(ioctl(g->vcpu, DUNE_SET_MSRS, &m), EINVAL, "17 MSRs");
	set_cpu(g, guest_basic, guest_basic_end);
	g->run->sregs.efer |= 1 << 12; /* SVME */
	bad |= refused(ioctl(g->vcpu, DUNE_RUN, 0), EINVAL, "guest EFER.SVME");
	bad |= refused(ioctl(g->vcpu, _IO(DUNE_IOC, 0x7e), 0), ENOTTY, "unknown vCPU ioctl");
	bad |= refused(ioctl(g->vm, _IO(DUNE_IOC, 0x7e), 0), ENOTTY, "unknown VM ioctl");
	bad |= refused(ioctl(g->vm, DUNE_CREATE_VCPU, 1), EINVAL, "DUNE_CREATE_VCPU with an argument");
	return bad;
}

static int t_fork(struct guest *g)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return fail("fork");
	if (pid == 0) {
		struct guest c;

		if (refused(ioctl(g->vcpu, DUNE_RUN, 0), EIO, "the parent's vCPU in the child"))
			_exit(1);
		if (guest_open(&c) || t_basic(&c))
			_exit(1);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		return 1;
	return t_basic(g); /* the parent's VM is unaffected */
}

static void on_alarm(int sig)
{
	(void)sig;
}

static int t_signal(struct guest *g)
{
	struct sigaction sa = { .sa_handler = on_alarm };

	sigaction(SIGALRM, &sa, NULL);
	set_cpu(g, guest_spin, guest_spin_end);
	alarm(1);
	return refused(ioctl(g->vcpu, DUNE_RUN, 0), EINTR, "DUNE_RUN of a spinning guest, SIGALRM");
}

static int t_kick(struct guest *g)
{
	set_cpu(g, guest_spin, guest_spin_end);
	g->run->immediate_exit = 1;
	return refused(ioctl(g->vcpu, DUNE_RUN, 0), EINTR, "DUNE_RUN with immediate_exit");
}

static int t_xsave(struct guest *g)
{
	static struct kvm_xsave a, b;

	if (ioctl(g->vcpu, DUNE_GET_XSAVE, &a))
		return fail("DUNE_GET_XSAVE");
	/* XMM0 (legacy area offset 160), and SSE in XSTATE_BV (header at 512): else the state is
	 * taken as the initial one. */
	memset((char *)a.region + 160, 0x5a, 16);
	((uint64_t *)a.region)[512 / 8] |= 2;
	if (ioctl(g->vcpu, DUNE_SET_XSAVE, &a))
		return fail("DUNE_SET_XSAVE");
	if (t_basic(g))
		return 1;
	if (ioctl(g->vcpu, DUNE_GET_XSAVE, &b))
		return fail("DUNE_GET_XSAVE");
	if (memcmp((char *)b.region + 160, (char *)a.region + 160, 16)) {
		printf("FAIL XMM0 did not survive a run\n");
		return 1;
	}
	return 0;
}

/* An IDT (at TABLES, every vector's handler 0x1000, a ring-0 interrupt gate) and a GDT after
 * it (kernel code 8, data 0x10) for set_cpu's guest. */
static void set_tables(struct guest *g)
{
	uint64_t *idt = page(g, TABLES), *gdt = idt + 256;
	unsigned i;

	for (i = 0; i < 64; i++) {
		idt[2 * i] = 0x1000 | (8ULL << 16) | (0x8eULL << 40);
		idt[2 * i + 1] = 0;
	}
	gdt[1] = 0x00af9b000000ffffULL;
	gdt[2] = 0x00cf93000000ffffULL;
	g->run->sregs.idt.base = addr(g, TABLES);
	g->run->sregs.idt.limit = 64 * 16 - 1;
	g->run->sregs.gdt.base = addr(g, TABLES) + 256 * 8;
	g->run->sregs.gdt.limit = 3 * 8 - 1;
}

/* Runs the instruction at CODE + at (an offset into the events code) with its stack at the top
 * of a page the guest never touched, and checks the handler's frame: RIP, CS, RSP. */
static int run_event(struct guest *g, const char *what, size_t at, int stack, uint64_t want_rip)
{
	const uint64_t *frame;

	set_cpu(g, guest_int3, guest_events_end);
	set_tables(g);
	g->run->regs.rip = addr(g, CODE) + at;
	g->run->regs.rsp = addr(g, stack) + PG;
	if (ioctl(g->vcpu, DUNE_RUN, 0))
		return fail("DUNE_RUN");
	if (expect_exit(g, DUNE_EXIT_FETCH, 0x1000))
		return 1;
	frame = (const uint64_t *)(uintptr_t)g->run->regs.rsp;
	if (g->run->regs.rsp != addr(g, stack) + PG - 5 * 8 || frame[0] != want_rip || frame[1] != 8 ||
	    frame[3] != addr(g, stack) + PG) {
		printf("FAIL %s: frame rip %#llx (expected %#llx) cs %#llx rsp %#llx, handler rsp %#llx\n",
		       what, (unsigned long long)frame[0], (unsigned long long)want_rip,
		       (unsigned long long)frame[1], (unsigned long long)frame[3],
		       (unsigned long long)g->run->regs.rsp);
		return 1;
	}
	return 0;
}

static int t_events(struct guest *g)
{
	uint64_t code = addr(g, CODE);
	size_t int21 = (size_t)(guest_int21 - guest_int3), ud2 = (size_t)(guest_ud2 - guest_int3);

	/* A trap's frame holds the next instruction, a fault's the faulting one. */
	return run_event(g, "int3", 0, STACK1, code + 1) ||
	       run_event(g, "int $0x21", int21, STACK2, code + int21 + 2) ||
	       run_event(g, "ud2", ud2, STACK3, code + ud2);
}

static int t_osxsave(struct guest *g)
{
	uint32_t a, b, c, d;
	uint64_t xcr0;

	__asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	if (!(c & (1U << 27))) {
		printf("FAIL this host's kernel has no OSXSAVE: the test needs it\n");
		return 1;
	}
	__asm__("xgetbv" : "=a"(a), "=d"(d) : "c"(0));
	xcr0 = a | (uint64_t)d << 32;
	set_cpu(g, guest_xcr, guest_xcr_end); /* CR4: PAE only */
	if (ioctl(g->vcpu, DUNE_RUN, 0))
		return fail("DUNE_RUN");
	if (expect_exit(g, DUNE_EXIT_FETCH, 0x1000))
		return 1;
	if ((g->run->regs.rsi | g->run->regs.rdi << 32) != xcr0 || !(g->run->regs.rcx & (1U << 27)) ||
	    !(g->run->sregs.cr4 & (1U << 18))) {
		printf("FAIL guest XCR0 %#llx (host %#llx), CPUID.1:ECX %#llx, CR4 %#llx\n",
		       (unsigned long long)(g->run->regs.rsi | g->run->regs.rdi << 32),
		       (unsigned long long)xcr0, (unsigned long long)g->run->regs.rcx,
		       (unsigned long long)g->run->sregs.cr4);
		return 1;
	}
	return 0;
}

static int t_spin(struct guest *g)
{
	set_cpu(g, guest_spin, guest_spin_end);
	printf("spinning\n");
	fflush(stdout);
	for (;;)
		if (ioctl(g->vcpu, DUNE_RUN, 0) && errno != EINTR)
			return fail("DUNE_RUN");
}

int cmd_guest(const char *test)
{
	static const struct {
		const char *name;
		int (*fn)(struct guest *);
	} tests[] = {
		{ "basic", t_basic }, { "mmio", t_mmio }, { "efault", t_efault },
		{ "remap", t_remap }, { "args", t_args }, { "fork", t_fork },
		{ "signal", t_signal }, { "kick", t_kick }, { "xsave", t_xsave },
		{ "events", t_events }, { "osxsave", t_osxsave }, { "spin", t_spin },
	};
	struct guest g;
	size_t i;

	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		if (strcmp(test, tests[i].name))
			continue;
		if (guest_open(&g) || tests[i].fn(&g))
			return 1;
		printf("ok\n");
		return 0;
	}
	fprintf(stderr, "dunectl: no guest test %s\n", test);
	return 2;
}
