/* Namespaces, cgroups and kernel settings: SETNS, JOIN_CGROUP, UNSHARE, WRITE_FILE,
 * CLONE, SETHOSTNAME, SETDOMAINNAME, NEW_KEYRING. */
#ifndef DUNE_NS_H
#define DUNE_NS_H

#include "context.h"

int op_setns(struct init_ctx *c, const struct plan_msg *s);
int op_join_cgroup(struct init_ctx *c, const struct plan_msg *s);
int op_unshare(struct init_ctx *c, const struct plan_msg *s);
int op_write_file(struct init_ctx *c, const struct plan_msg *s);
/* CGROUP_WAIT (child): waits until CLONE's parent moved it into the container's cgroups,
 * then unshares the cgroup namespace if asked, so the namespace is rooted there. */
int op_cgroup_wait(struct init_ctx *c, const struct plan_msg *s);
/* LOOPBACK_UP: a new network namespace starts with "lo" down; bring it up (as runc does). */
int op_loopback_up(struct init_ctx *c, const struct plan_msg *s);
int op_clone(struct init_ctx *c, const struct plan_msg *s);
int op_sethostname(struct init_ctx *c, const struct plan_msg *s);
int op_setdomainname(struct init_ctx *c, const struct plan_msg *s);
int op_new_keyring(struct init_ctx *c, const struct plan_msg *s);

#endif
