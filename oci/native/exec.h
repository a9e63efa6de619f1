/* Starting the program: FIFO_OPEN, FIFO_WAIT, RESOLVE_EXEC, READY, EXEC, CLOSE_SOCKET,
 * DUNE_EXEC. */
#ifndef DUNE_EXEC_H
#define DUNE_EXEC_H

#include "context.h"

int op_fifo_open(struct init_ctx *c, const struct plan_msg *s);
int op_fifo_wait(struct init_ctx *c, const struct plan_msg *s);
int op_resolve_exec(struct init_ctx *c, const struct plan_msg *s);
int op_ready(struct init_ctx *c, const struct plan_msg *s);
int op_exec(struct init_ctx *c, const struct plan_msg *s);
int op_close_socket(struct init_ctx *c, const struct plan_msg *s);
int op_dune_exec(struct init_ctx *c, const struct plan_msg *s);

#endif
