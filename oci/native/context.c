/* Step context and failure recording. */
#include "context.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void ctx_init(struct init_ctx *c, int plan_fd, const struct plan *plan)
{
	memset(c, 0, sizeof(*c));
	c->plan_fd = plan_fd;
	c->plan = plan;
	c->fifo_fd = -1;
	c->moved_fd = -1;
	c->dune = (struct dune_fds){ -1, -1, -1, -1, -1 };
}

int ctx_fail(struct init_ctx *c, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	c->err = err;
	return STEP_FAILED;
}
