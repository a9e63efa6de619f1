#!/usr/bin/env bash
# The run disk (/dev/vdb, mounted on /opt/dune in the guest), made fresh for every run so that
# the cached root disk never holds the project:
#   build/bin/      dune, dune-init, dune-run, containerd-shim-dune-v2 (from $VM_BIN, default
#                   build/bin: `make build`)
#   e2e/            the e2e tree (lib/, tools/, vm/ with guest/ and tests/)
#   build/e2e/rootfs-template  lib/bundle.sh's busybox rootfs template, made here (about
#                   270 symlinks take 10 to 20 s under emulation)
#   images/busybox-oci.tar  the busybox image for `ctr images import` (e2e/lib/image.sh, cached
#                   in $VM_DIR)
#   vm/command      what the guest runs: `cd /opt/dune` then COMMAND...
#   $VM_EXTRA       more of the repository at the same relative paths (space-separated, e.g.
#                   VM_EXTRA="libdune/build kmod/dune.ko" for a kernel module's tests)
# Usage: disk.sh COMMAND...   Output: $VM_DIR/run/run.img (mke2fs -d, no loop mount).
set -euo pipefail
source "$(dirname "$0")/env.sh"
(($#)) || vm_die "usage: disk.sh COMMAND..."
vm_need mke2fs e2fsprogs
VM_BIN=${VM_BIN:-$E2E_REPO/build/bin}
image=$VM_DIR/busybox-oci.tar
if [[ ! -f $image || /bin/busybox -nt $image ]]; then
  vm_need umoci umoci
  ( source "$E2E_REPO/e2e/lib/bundle.sh" && source "$E2E_REPO/e2e/lib/image.sh" &&
    make_oci_image_tar "$image.tmp" ) || vm_die "cannot build the busybox image"
  mv "$image.tmp" "$image"
fi
stage=$VM_DIR/run/disk
rm -rf "$stage"
mkdir -p "$stage/build/bin" "$stage/images" "$stage/vm"
for b in dune dune-init dune-run containerd-shim-dune-v2; do
  [[ -x $VM_BIN/$b ]] || vm_die "$VM_BIN/$b is missing (make build)"
  cp "$VM_BIN/$b" "$stage/build/bin/"
done
tar -C "$E2E_REPO" --exclude=e2e/CriClient -cf - e2e | tar -C "$stage" -xf -
( source "$E2E_REPO/e2e/lib/bundle.sh" && make_rootfs "$stage/build/e2e/rootfs-template" ) ||
  vm_die "cannot make the busybox rootfs template"
cp "$image" "$stage/images/busybox-oci.tar"
for extra in ${VM_EXTRA:-}; do
  [[ -e $E2E_REPO/$extra ]] || vm_die "VM_EXTRA: $E2E_REPO/$extra does not exist"
  tar -C "$E2E_REPO" -cf - "$extra" | tar -C "$stage" -xf -
done
{ echo "# written by e2e/vm/disk.sh"; printf '%q ' "$@"; echo; } >"$stage/vm/command"
size=$(($(du -sm "$stage" | cut -f1) + 64))
rm -f "$VM_DIR/run/run.img"
mke2fs -q -F -t ext4 -L dune-vm-run -d "$stage" "$VM_DIR/run/run.img" "${size}M" >/dev/null
