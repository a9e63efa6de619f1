/* Process attributes: RLIMIT, CAP_BOUNDING, SET_USER, CAPS, UMASK, NO_NEW_PRIVS,
 * PERSONALITY, SETSID, CHDIR, SECCOMP. */
#ifndef DUNE_ATTRS_H
#define DUNE_ATTRS_H

#include "context.h"

int op_rlimit(struct init_ctx *c, const struct plan_msg *s);
int op_cap_bounding(struct init_ctx *c, const struct plan_msg *s);
int op_set_user(struct init_ctx *c, const struct plan_msg *s);
int op_caps(struct init_ctx *c, const struct plan_msg *s);
int op_umask(struct init_ctx *c, const struct plan_msg *s);
int op_no_new_privs(struct init_ctx *c, const struct plan_msg *s);
int op_personality(struct init_ctx *c, const struct plan_msg *s);
int op_setsid(struct init_ctx *c, const struct plan_msg *s);
int op_chdir(struct init_ctx *c, const struct plan_msg *s);
int op_seccomp(struct init_ctx *c, const struct plan_msg *s);

#endif
