/* SYNC (pause until dune has run runtime-side hooks) and RUN_HOOK (run one hook here,
 * with the container state on stdin). */
#ifndef DUNE_HOOKS_H
#define DUNE_HOOKS_H

#include "context.h"

/* SELECT_STATE: which of CONTINUE's state documents later RUN_HOOKs pass on stdin. */
int op_select_state(struct init_ctx *c, const struct plan_msg *s);
int op_sync(struct init_ctx *c, const struct plan_msg *s);
int op_run_hook(struct init_ctx *c, const struct plan_msg *s);

#endif
