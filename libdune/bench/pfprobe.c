/* Probe: what a guest's first write to an anonymous page costs on this
 * host under different host/guest page setups (Dune mode, libdune API),
 * beside the native costs. The ideas weighed for fault-around were
 * measured with it (probe.sh runs every case).
 * Usage: pfprobe CASE MIB [STRIDE_PAGES]; prints "CASE ns_per_touch".
 * Cases: native, native-thp (MADV_HUGEPAGE), populate (host
 * MADV_POPULATE_WRITE alone, timed), dune (4K guest entries, no host page),
 * dune-prepop (host pages populated first, untimed), dune-zero (host zero
 * page mapped first), dune-thp4k (MADV_HUGEPAGE host, 4K guest entries),
 * dune-thp2m (MADV_HUGEPAGE host, 2M guest entries), dune-2m (2M guest
 * entries over 4K host pages); prefault-cap prints what KVM answers for
 * KVM_CAP_PRE_FAULT_MEMORY. */
#define _GNU_SOURCE
#include <dune.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static char *map_aligned(size_t len)
{
	size_t h = 2ul << 20;
	char *raw = mmap(NULL, len + h, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		exit(1);
	return (char *)(((unsigned long)raw + h - 1) & ~(h - 1));
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	const char *c = argv[1];
	if (!strcmp(c, "prefault-cap")) {
		int kvm = open("/dev/kvm", O_RDWR);
		int vm = kvm < 0 ? -1 : ioctl(kvm, KVM_CREATE_VM, 0);
		printf("%s %d\n", c, vm < 0 ? -1 : ioctl(vm, KVM_CHECK_EXTENSION, 236 /* KVM_CAP_PRE_FAULT_MEMORY */));
		return 0;
	}
	size_t len = (size_t)atol(argv[2]) << 20;
	size_t stride = argc > 3 ? (size_t)atol(argv[3]) * 4096 : 4096; /* touch every Nth page */
	char *m = map_aligned(len);
	bool dune = !strncmp(c, "dune", 4);
	if (!strcmp(c, "native-thp") || !strcmp(c, "dune-thp4k") || !strcmp(c, "dune-thp2m"))
		madvise(m, len, MADV_HUGEPAGE);
	if (!strcmp(c, "dune-2m") || !strcmp(c, "native-nothp"))
		madvise(m, len, MADV_NOHUGEPAGE);
	if (!strcmp(c, "dune-prepop"))
		madvise(m, len, MADV_POPULATE_WRITE);
	if (!strcmp(c, "dune-zero"))
		madvise(m, len, MADV_POPULATE_READ);
	double t0, t1;
	if (!strcmp(c, "populate")) {
		t0 = now_ns();
		madvise(m, len, MADV_POPULATE_WRITE);
		t1 = now_ns();
		printf("%s %.1f\n", c, (t1 - t0) / (double)(len >> 12));
		return 0;
	}
	if (dune) {
		int rc = dune_enter();
		if (rc) {
			fprintf(stderr, "dune_enter: %s\n", strerror(-rc));
			return 1;
		}
		struct dune_vm *vm = dune_vcpu_vm(dune_current());
		if (!strcmp(c, "dune-thp2m") || !strcmp(c, "dune-2m")) {
			dune_vm_map(vm, m, len, DUNE_PERM_R | DUNE_PERM_W | DUNE_PERM_BIG);
			dune_vm_flush(vm);
		}
	}
	t0 = now_ns();
	for (size_t i = 0; i < len; i += stride)
		m[i] = 1;
	t1 = now_ns();
	printf("%s %.1f\n", c, (t1 - t0) / (double)(len / stride));
	return 0;
}
