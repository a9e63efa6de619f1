/* Probe: what a KVM_RUN costs when the vCPU last ran on another host
 * thread (KVM does synchronize_rcu when the vCPU's pid changes), against
 * a run on the same thread and a freshly created vCPU. Decides whether an
 * ended guest thread's vCPU can be handed to a new host thread.
 * Real-mode guest: "out %al,$0x10; jmp back" (one KVM_EXIT_IO per run). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static int kvm, vmfd, runsz;

struct cpu {
	int fd;
	struct kvm_run *run;
};

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void die(const char *m)
{
	perror(m);
	exit(1);
}

static void cpu_new(struct cpu *c, int id)
{
	c->fd = ioctl(vmfd, KVM_CREATE_VCPU, id);
	if (c->fd < 0)
		die("KVM_CREATE_VCPU");
	c->run = mmap(NULL, (size_t)runsz, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
	if (c->run == MAP_FAILED)
		die("mmap run");
	struct kvm_sregs s;
	if (ioctl(c->fd, KVM_GET_SREGS, &s) < 0)
		die("GET_SREGS");
	s.cs.base = 0, s.cs.selector = 0;
	if (ioctl(c->fd, KVM_SET_SREGS, &s) < 0)
		die("SET_SREGS");
	struct kvm_regs r = { .rip = 0x1000, .rflags = 2 };
	if (ioctl(c->fd, KVM_SET_REGS, &r) < 0)
		die("SET_REGS");
}

static void cpu_run(struct cpu *c)
{
	if (ioctl(c->fd, KVM_RUN, 0) < 0 || c->run->exit_reason != KVM_EXIT_IO)
		die("KVM_RUN");
}

struct job {
	struct cpu *c;
	double first, second;
};

static void *on_new_thread(void *arg)
{
	struct job *j = arg;
	double t0 = now_us();
	cpu_run(j->c);
	double t1 = now_us();
	cpu_run(j->c);
	j->first = t1 - t0;
	j->second = now_us() - t1;
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *what, double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp);
	double sum = 0;
	for (int i = 0; i < n; i++)
		sum += v[i];
	printf("%-52s n=%4d  median %9.1f us  mean %9.1f us  max %9.1f us\n", what, n, v[n / 2], sum / n,
	       v[n - 1]);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 40;
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die("/dev/kvm");
	vmfd = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vmfd < 0)
		die("KVM_CREATE_VM");
	runsz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	uint8_t *mem = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	static const uint8_t code[] = { 0xe6, 0x10, 0xeb, 0xfc }; /* out %al,$0x10; jmp .-2 */
	memcpy(mem + 0x1000, code, sizeof code);
	struct kvm_userspace_memory_region slot = { .slot = 0, .guest_phys_addr = 0, .memory_size = 0x10000,
						    .userspace_addr = (uint64_t)mem };
	if (ioctl(vmfd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
		die("SET_USER_MEMORY_REGION");

	double *v = calloc((size_t)n * 4, sizeof *v);
	struct cpu c0;
	cpu_new(&c0, 0);
	cpu_run(&c0);
	for (int i = 0; i < n * 4; i++) {
		double t0 = now_us();
		cpu_run(&c0);
		v[i] = now_us() - t0;
	}
	report("KVM_RUN, same host thread", v, n * 4);

	/* The vCPU handed to a new host thread each time (what reuse after a
	 * guest thread exit costs); the thread itself is not timed. */
	double *second = calloc((size_t)n, sizeof *second);
	for (int i = 0; i < n; i++) {
		struct job j = { .c = &c0 };
		pthread_t th;
		pthread_create(&th, NULL, on_new_thread, &j);
		pthread_join(th, NULL);
		v[i] = j.first;
		second[i] = j.second;
	}
	report("first KVM_RUN on a new host thread (pid change)", v, n);
	report("second KVM_RUN on that thread", second, n);

	/* Reference: a fresh vCPU (create + setup + first run), what every new
	 * thread paid so far. */
	for (int i = 0; i < n; i++) {
		struct cpu c;
		double t0 = now_us();
		cpu_new(&c, i + 1);
		cpu_run(&c);
		v[i] = now_us() - t0;
	}
	report("new vCPU: create + setup + first KVM_RUN", v, n);

	/* Same host thread, vCPU re-initialised (what a parked host thread
	 * taking a new guest thread pays for its state). */
	for (int i = 0; i < n; i++) {
		double t0 = now_us();
		struct kvm_sregs s;
		ioctl(c0.fd, KVM_GET_SREGS, &s);
		ioctl(c0.fd, KVM_SET_SREGS, &s);
		struct kvm_regs r = { .rip = 0x1000, .rflags = 2 };
		ioctl(c0.fd, KVM_SET_REGS, &r);
		cpu_run(&c0);
		v[i] = now_us() - t0;
	}
	report("same thread: SET_SREGS + SET_REGS + KVM_RUN", v, n);
	return 0;
}
