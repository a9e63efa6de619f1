/* dunectl: pokes /dev/dune (and /dev/kvm) for the module's VM tests; static, the guest has no
 * compiler.
 *   dunectl version       prints /dev/dune's API version (exit 1 with the errno otherwise)
 *   dunectl bad-ioctl     an unknown ioctl and a bad argument: exit 0 when both are refused
 *   dunectl kvm-vm SECS   creates a KVM VM (which switches SVM on) and holds it SECS seconds;
 *                         prints "kvm-vm: held" once created, or the errno of the failure
 *   dunectl guest TEST    runs a small 64-bit guest in this process's own memory (guest-physical
 *                         == host-virtual) and checks one behaviour; exit 0 and "ok" when it
 *                         holds, else a message (see guest.c) */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <dune/dune.h>

int cmd_guest(const char *test);

static int open_dev(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "dunectl: open %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return fd;
}

static int cmd_version(void)
{
	int fd = open_dev("/dev/dune");
	int v = ioctl(fd, DUNE_GET_API_VERSION, 0);

	if (v < 0) {
		fprintf(stderr, "dunectl: DUNE_GET_API_VERSION: %s\n", strerror(errno));
		return 1;
	}
	printf("%d\n", v);
	return 0;
}

static int cmd_bad_ioctl(void)
{
	int fd = open_dev("/dev/dune");

	if (ioctl(fd, _IO(DUNE_IOC, 0x7f), 0) != -1 || errno != ENOTTY) {
		fprintf(stderr, "dunectl: unknown ioctl not refused with ENOTTY\n");
		return 1;
	}
	if (ioctl(fd, DUNE_GET_API_VERSION, 1) != -1 || errno != EINVAL) {
		fprintf(stderr, "dunectl: a non-zero argument to DUNE_GET_API_VERSION not refused with EINVAL\n");
		return 1;
	}
	return 0;
}

static int cmd_kvm_vm(int secs)
{
	int kvm = open_dev("/dev/kvm");
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);

	if (vm < 0) {
		printf("kvm-vm: KVM_CREATE_VM: %s\n", strerror(errno));
		return 1;
	}
	printf("kvm-vm: held\n");
	fflush(stdout);
	sleep((unsigned)secs);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "version"))
		return cmd_version();
	if (argc == 2 && !strcmp(argv[1], "bad-ioctl"))
		return cmd_bad_ioctl();
	if (argc == 3 && !strcmp(argv[1], "kvm-vm"))
		return cmd_kvm_vm(atoi(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "guest"))
		return cmd_guest(argv[2]);
	fprintf(stderr, "usage: dunectl version | bad-ioctl | kvm-vm SECS | guest TEST\n");
	return 2;
}
