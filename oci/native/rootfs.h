/* Mounts and the root filesystem: ROOTFS, MOUNT, MKNOD, SYMLINK, PIVOT_ROOT,
 * CHROOT_MOVE, CHROOT, MASK_PATH, READONLY_PATH, MOUNT_SETATTR, PARENT_PRIVATE, OPEN_TREE. */
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
int op_mount_setattr(struct init_ctx *c, const struct plan_msg *s);
int op_chroot(struct init_ctx *c, const struct plan_msg *s);
int op_parent_private(struct init_ctx *c, const struct plan_msg *s);
int op_open_tree(struct init_ctx *c, const struct plan_msg *s);

#endif
