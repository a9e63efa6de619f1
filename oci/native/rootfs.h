/* Mounts and the root filesystem: ROOTFS, MOUNT, MKNOD, SYMLINK, PIVOT_ROOT,
 * CHROOT_MOVE, MASK_PATH, READONLY_PATH. */
#ifndef DUNE_ROOTFS_H
#define DUNE_ROOTFS_H

#include "context.h"

int op_rootfs(struct init_ctx *c, const struct plan_msg *s);
int op_mount(struct init_ctx *c, const struct plan_msg *s);
int op_mknod(struct init_ctx *c, const struct plan_msg *s);
int op_symlink(struct init_ctx *c, const struct plan_msg *s);
int op_pivot_root(struct init_ctx *c, const struct plan_msg *s);
int op_chroot_move(struct init_ctx *c, const struct plan_msg *s);
int op_mask_path(struct init_ctx *c, const struct plan_msg *s);
int op_readonly_path(struct init_ctx *c, const struct plan_msg *s);

#endif
