/* The process's identity in /proc (identity.h).
 *
 * The kernel shows /proc/PID/cmdline and environ from the ranges its mm records for the
 * argument and environment strings, which for a Dune process are dune-run's own. The
 * program's strings lie on the stack elf_build_stack made, in memory of this same process
 * (guest-physical == host-virtual), so PR_SET_MM_MAP (checkpoint/restore's call, which
 * needs no capability when it leaves the executable file alone) points the mm at them. The
 * other fields of the map must be given too: they are read back from /proc/self/stat and
 * brk(0) and written unchanged. */
#include "identity.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Fields 26-28 and 45-51 of /proc/self/stat (proc(5)): the mm's code, stack, data, brk,
 * argument and environment bounds. Returns 0 or -errno. */
static int read_mm_bounds(struct prctl_mm_map *map)
{
	char buf[2048];
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	/* comm (field 2) may hold spaces and parentheses: count from its closing one. */
	char *at = strrchr(buf, ')');
	if (!at)
		return -EIO;
	unsigned long long v[52] = { 0 };
	int field = 2;
	for (char *tok = strtok(at + 1, " \n"); tok && field < 51; tok = strtok(NULL, " \n"))
		v[++field] = strtoull(tok, NULL, 10);
	if (field < 51)
		return -EIO;
	map->start_code = v[26];
	map->end_code = v[27];
	map->start_stack = v[28];
	map->start_data = v[45];
	map->end_data = v[46];
	map->start_brk = v[47];
	map->arg_start = v[48];
	map->arg_end = v[49];
	map->env_start = v[50];
	map->env_end = v[51];
	return 0;
}

int identity_show_program(const struct elf_stack *stack)
{
	struct prctl_mm_map map = { .exe_fd = (__u32)-1 };
	int rc = read_mm_bounds(&map);
	if (rc)
		return rc;
	map.brk = (__u64)syscall(SYS_brk, 0);
	map.arg_start = stack->arg_start;
	map.arg_end = stack->arg_end;
	map.env_start = stack->env_start;
	map.env_end = stack->env_end;
	if (prctl(PR_SET_MM, PR_SET_MM_MAP, (unsigned long)&map, sizeof map, 0) < 0)
		return -errno;
	return 0;
}

void identity_set_comm(const char *path, const char *comm)
{
	const char *base = strrchr(path, '/');
	prctl(PR_SET_NAME, (unsigned long)(comm ? comm : base ? base + 1 : path), 0, 0, 0);
}
