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

/* The program's argv and envp from an EXEC-shaped step (u64 argc, argv..., env...), from
 * argument `first` on; NULL-terminated arrays the caller frees (the strings stay in s). */
int exec_vectors(struct init_ctx *c, const struct plan_msg *s, uint32_t first, char ***argv, char ***envp,
		 uint64_t *argc);

#endif
