/* CONSOLE: a new pty whose master goes to dune's console socket and whose replica
 * becomes the process's stdio and controlling terminal. */
#ifndef DUNE_CONSOLE_H
#define DUNE_CONSOLE_H

#include "context.h"

int op_console(struct init_ctx *c, const struct plan_msg *s);

#endif
