/* userfaultfd in a Dune process.
 *   uffd handle [usermode]  8 missing pages of a registered area, filled by a handler thread
 *                           (UFFDIO_COPY) as the main thread reads them: prints what it read
 *   uffd order              64 pages mapped before the descriptor is made, written in order:
 *                           after each write the handler must have seen exactly the pages
 *                           written so far (nothing faulted in ahead of the program)
 *   uffd monitor            ranges outside the program's memory (dune-run's image, from
 *                           /proc/self/maps) in REGISTER and COPY, and a descriptor
 *                           inherited across fork: prints each errno */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int uffd;
static long pg;
static int handled; /* faults the handler resolved */

static void *handler(void *arg)
{
	int faults = (int)(long)arg;
	char *page = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (int n = 0; n < faults; n++) {
		struct uffd_msg m;
		if (read(uffd, &m, sizeof m) != sizeof m || m.event != UFFD_EVENT_PAGEFAULT) {
			perror("read uffd");
			exit(3);
		}
		/* Counted before the copy wakes the faulting thread. */
		__atomic_add_fetch(&handled, 1, __ATOMIC_SEQ_CST);
		memset(page, 'A' + n % 26, pg);
		struct uffdio_copy c = { .dst = m.arg.pagefault.address & ~(pg - 1), .src = (unsigned long)page, .len = pg };
		if (ioctl(uffd, UFFDIO_COPY, &c)) {
			perror("UFFDIO_COPY");
			exit(4);
		}
	}
	return NULL;
}

static int open_uffd(int flags)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | flags);
	struct uffdio_api api = { .api = UFFD_API };
	if (fd < 0 || ioctl(fd, UFFDIO_API, &api)) {
		perror("userfaultfd");
		exit(2);
	}
	return fd;
}

static const char *err(int rc) { return rc ? strerror(errno) : "ok"; }

/* The start of dune-run's image, if this is a Dune process (0 natively). */
static unsigned long monitor_image(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	unsigned long lo = 0;
	while (f && fgets(line, sizeof line, f))
		if (strstr(line, "dune-run") && sscanf(line, "%lx-", &lo) == 1)
			break;
	if (f)
		fclose(f);
	return lo;
}

int main(int argc, char **argv)
{
	pg = sysconf(_SC_PAGESIZE);
	if (argc > 1 && !strcmp(argv[1], "monitor")) {
		unsigned long mon = monitor_image();
		uffd = open_uffd(0);
		struct uffdio_register r = { .range = { mon, (unsigned long)pg }, .mode = UFFDIO_REGISTER_MODE_MISSING };
		printf("register monitor: %s\n", mon ? err(ioctl(uffd, UFFDIO_REGISTER, &r)) : "no monitor");
		char *src = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		struct uffdio_copy c = { .dst = mon, .src = (unsigned long)src, .len = (unsigned long)pg };
		printf("copy to monitor: %s\n", mon ? err(ioctl(uffd, UFFDIO_COPY, &c)) : "no monitor");
		char *area = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		struct uffdio_register own = { .range = { (unsigned long)area, (unsigned long)pg }, .mode = UFFDIO_REGISTER_MODE_MISSING };
		printf("register own: %s\n", err(ioctl(uffd, UFFDIO_REGISTER, &own)));
		fflush(stdout);
		if (fork() == 0) {
			struct uffdio_range u = { (unsigned long)area, (unsigned long)pg };
			printf("inherited: %s\n", err(ioctl(uffd, UFFDIO_UNREGISTER, &u)));
			fflush(stdout);
			_exit(0);
		}
		wait(NULL);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "order")) {
		/* Big enough for fault-around's tripwires, mapped before the descriptor exists. */
		char *area = mmap(NULL, 64 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		uffd = open_uffd(0);
		struct uffdio_register r = { .range = { (unsigned long)area, 64 * (unsigned long)pg }, .mode = UFFDIO_REGISTER_MODE_MISSING };
		if (ioctl(uffd, UFFDIO_REGISTER, &r)) {
			perror("UFFDIO_REGISTER");
			return 5;
		}
		pthread_t t;
		pthread_create(&t, NULL, handler, (void *)64L);
		for (int i = 0; i < 64; i++) {
			area[i * pg] = 1;
			int n = __atomic_load_n(&handled, __ATOMIC_SEQ_CST);
			if (n != i + 1) {
				printf("order: %d faults handled after %d pages written\n", n, i + 1);
				return 1;
			}
		}
		pthread_join(t, NULL);
		printf("order: one fault per page written\n");
		return 0;
	}
	uffd = open_uffd(argc > 2 ? UFFD_USER_MODE_ONLY : 0);
	char *area = mmap(NULL, 8 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct uffdio_register r = { .range = { (unsigned long)area, 8 * (unsigned long)pg }, .mode = UFFDIO_REGISTER_MODE_MISSING };
	if (ioctl(uffd, UFFDIO_REGISTER, &r)) {
		perror("UFFDIO_REGISTER");
		return 5;
	}
	pthread_t t;
	pthread_create(&t, NULL, handler, (void *)8L);
	char seen[9] = "";
	for (int i = 0; i < 8; i++)
		seen[i] = area[i * pg + 7];
	pthread_join(t, NULL);
	printf("handled: %s\n", seen);
	return 0;
}
