/* Dune mode: the container's program runs as a Dune process under dune-run (libdune's
 * sandbox). DUNE_OPEN opens what dune-run needs while dune-init still sees the host
 * (before the clone and any setns or pivot_root); DUNE_EXEC replaces EXEC. */
#ifndef DUNE_DUNE_MODE_H
#define DUNE_DUNE_MODE_H

#include "context.h"

int op_dune_open(struct init_ctx *c, const struct plan_msg *s);
int op_dune_exec(struct init_ctx *c, const struct plan_msg *s);

#endif
