/* The table of ops and the loop that runs a received plan step by step. */
#ifndef DUNE_STEPS_H
#define DUNE_STEPS_H

#include "context.h"

/* Name used in stderr messages ("mount", "run-hook", ...), "op-N" when unknown. */
const char *steps_op_name(uint32_t op, char buf[16]);

/* Runs c->plan from step 0. Returns STEP_PARENT_DONE when the parent's part ended at
 * CLONE, STEP_OK when the plan ran out, STEP_FAILED with c->step/c->err/c->detail set.
 * A successful EXEC does not return. */
int steps_run(struct init_ctx *c);

#endif
