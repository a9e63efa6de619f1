/* Phase timestamps for process creation (fork, execve, start, exit):
 * compiled in only with -DDUNE_PHASE_TIMING (CFLAGS='-O2 -g -DDUNE_PHASE_TIMING'
 * make B=build-timing: CFLAGS from the environment), one line
 * "phase <pid> <label> <us>" on stderr per point, CLOCK_MONOTONIC so that
 * lines from parent, child and exec'd image share one time base. */
#ifndef DUNE_PHASE_TIME_H
#define DUNE_PHASE_TIME_H

#ifdef DUNE_PHASE_TIMING
#include <stdio.h>
#include <time.h>
#include <unistd.h>
static inline void phase_mark(const char *label)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	dprintf(2, "phase %d %s %.1f\n", (int)getpid(), label, ts.tv_sec * 1e6 + ts.tv_nsec / 1e3);
}
#else
static inline void phase_mark(const char *label)
{
	(void)label;
}
#endif

#endif
