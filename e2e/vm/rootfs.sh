#!/usr/bin/env bash
# The guest's root disk, built once and cached (the project's binaries and tests are not in it:
# they come on a second disk at each run, see disk.sh):
#   $VM_DIR/rootfs/     debootstrap --variant=minbase of bookworm (mirror from apt's sources, as
#                       e2e/lib/debian.sh finds it) with systemd as init, dbus, containerd, runc,
#                       bats, jq, busybox-static, iproute2, kmod, bpftool, and for libdune's suite
#                       in the VM strace, gdb, python3 and musl; the kernel's modules
#                       (kernel.sh) minus sound/GPU/media/wireless, depmod run in the tree
#   $VM_DIR/root.img    that tree as an ext4 image (mke2fs -d: no loop mount), booted read-only
#                       by qemu (snapshot=on: the guest's writes are thrown away)
#   $VM_DIR/rootfs.seconds  how long debootstrap took here
# Rebuilt when the kernel or the package list below changes (the list is kept in
# rootfs/.vm-done); by hand: rm -rf $VM_DIR/rootfs $VM_DIR/root.img.
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$E2E_REPO/e2e/lib/debian.sh"
"$VM_SRC/kernel.sh"
release=$(cat "$VM_DIR/kernel/version")
# strace, gdb, python3 and musl: libdune's suite in the VM runs its ptrace, python and musl tests.
# libboost-regex1.74.0 is gdb's (through libsource-highlight4v5), named because debootstrap's
# resolver misses it and the package then stays unconfigured.
packages=systemd,systemd-sysv,dbus,containerd,runc,bats,jq,busybox-static,iproute2,kmod,procps,bpftool,libseccomp2
packages+=,strace,gdb,libboost-regex1.74.0,python3,musl
# Cached, unless the kernel (its modules are in the tree) or the package list changed.
if [[ -f $VM_DIR/root.img && -f $VM_DIR/rootfs/.vm-done ]]; then
  if [[ ! -d $VM_DIR/rootfs/lib/modules/$release ]]; then
    vm_log "rootfs: built for another kernel than $release: rebuilding"
  elif [[ $(cat "$VM_DIR/rootfs/.vm-done") != "$packages" ]]; then
    vm_log "rootfs: built with other packages than $packages: rebuilding"
  else
    exit 0
  fi
  rm -rf "$VM_DIR/rootfs" "$VM_DIR/root.img"
fi
[[ $(id -u) == 0 ]] || vm_die "rootfs.sh must run as root (debootstrap)"
vm_need debootstrap debootstrap
vm_need mke2fs e2fsprogs
root=$VM_DIR/rootfs
if [[ ! -f $root/.vm-done ]]; then
  mirror=$(debian_mirror)
  tmp=$root.tmp.$$
  rm -rf "$tmp"
  vm_log "rootfs: debootstrap --variant=minbase --include=$packages $DEBIAN_SUITE from $mirror"
  t0=$(date +%s)
  if ! debootstrap --variant=minbase --include="$packages" "$DEBIAN_SUITE" "$tmp" "$mirror" \
      >"$VM_DIR/debootstrap.log" 2>&1; then
    tail -n 30 "$VM_DIR/debootstrap.log" >&2
    [[ -f $tmp/debootstrap/debootstrap.log ]] && tail -n 30 "$tmp/debootstrap/debootstrap.log" >&2
    rm -rf "$tmp"
    vm_die "debootstrap failed (log: $VM_DIR/debootstrap.log)"
  fi
  echo $(($(date +%s) - t0)) >"$VM_DIR/rootfs.seconds"
  rm -rf "$tmp/var/cache/apt/archives/"*.deb "$tmp/var/lib/apt/lists/"*
  # Modules for whatever the tests load (overlay, kvm_amd, netfilter...), not the hardware ones.
  mkdir -p "$tmp/lib/modules"
  cp -a "$VM_DIR/kernel/lib/modules/$release" "$tmp/lib/modules/"
  rm -rf "$tmp/lib/modules/$release/kernel/"{sound,drivers/gpu,drivers/media,drivers/net/wireless,drivers/infiniband,drivers/staging}
  chroot "$tmp" depmod "$release"   # the guest's kmod: the host needs none
  echo "$packages" >"$tmp/.vm-done"
  rm -rf "$root"
  mv "$tmp" "$root"
  vm_log "rootfs: debootstrap took $(cat "$VM_DIR/rootfs.seconds") s"
fi
size=$(($(du -sm "$root" | cut -f1) + 1024))
t0=$(date +%s)
rm -f "$VM_DIR/root.img.tmp"
mke2fs -q -F -t ext4 -L dune-vm-root -d "$root" "$VM_DIR/root.img.tmp" "${size}M" >/dev/null
mv "$VM_DIR/root.img.tmp" "$VM_DIR/root.img"
vm_log "rootfs: $VM_DIR/root.img (${size} MiB, mke2fs -d took $(($(date +%s) - t0)) s)"
