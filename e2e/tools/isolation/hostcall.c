/* Tries to make a host system call without the `syscall` instruction the monitor
 * intercepts: the 32-bit entry points.
 *   hostcall int80 PATH      mkdir(PATH) through `int $0x80` (i386 number 39)
 *   hostcall sysenter PATH   mkdir(PATH) through `sysenter` (the kernel's 32-bit fast entry)
 * The path and the fast entry's stack word are in static data, below 4 GiB (built -static
 * -no-pie), so a 32-bit kernel entry can reach them. Prints what came back if the
 * instruction returns at all. */
#include <stdio.h>
#include <string.h>

#define I386_MKDIR 39

static char path[256];
/* sysenter's user stack (%ebp): the kernel reads the saved %ebp (6th argument) there. */
static unsigned int fast_stack[16];

int main(int argc, char **argv)
{
	if (argc != 3 || strlen(argv[2]) >= sizeof path)
		return 2;
	strcpy(path, argv[2]);
	unsigned int p = (unsigned int)(unsigned long)path;
	if ((unsigned long)path != p) {
		fprintf(stderr, "hostcall: path not below 4 GiB (build with -static -no-pie)\n");
		return 2;
	}
	long rc;
	printf("%s: attempting mkdir %s\n", argv[1], path);
	fflush(stdout);
	if (!strcmp(argv[1], "int80")) {
		__asm__ volatile("int $0x80" : "=a"(rc) : "a"(I386_MKDIR), "b"(p), "c"(0755) : "memory");
	} else if (!strcmp(argv[1], "sysenter")) {
		unsigned int sp = (unsigned int)(unsigned long)fast_stack;
		__asm__ volatile("push %%rbp\n\t"
				 "mov %4, %%ebp\n\t"
				 "sysenter\n\t"
				 "pop %%rbp"
				 : "=a"(rc)
				 : "a"(I386_MKDIR), "b"(p), "c"(0755), "r"(sp)
				 : "memory", "rdx");
	} else {
		return 2;
	}
	printf("%s: returned %ld\n", argv[1], rc);
	return 3;
}
