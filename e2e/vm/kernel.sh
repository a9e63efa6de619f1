#!/usr/bin/env bash
# The guest kernel: Debian's 6.1 linux-image package, downloaded with apt-get and unpacked with
# dpkg -x under $VM_DIR/kernel (never installed on the host). Cached: runs once.
#   $VM_DIR/kernel/vmlinuz        the kernel
#   $VM_DIR/kernel/version        its release (e.g. 6.1.0-57-amd64)
#   $VM_DIR/kernel/lib/modules/R  all its modules (the initramfs takes a few, the root disk all)
# Rebuild: rm -rf $VM_DIR/kernel. Another version: VM_KERNEL_PKG=linux-image-6.1.0-NN-amd64.
set -euo pipefail
source "$(dirname "$0")/env.sh"
out=$VM_DIR/kernel
[[ -f $out/done ]] && exit 0
vm_need apt-get apt
vm_need dpkg dpkg
kernel_pkg() {
  apt-cache depends linux-image-amd64 2>/dev/null |
    awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ {print $2; exit}'
}
pkg=${VM_KERNEL_PKG:-$(kernel_pkg)}
if [[ -z $pkg ]]; then
  vm_log "kernel: apt knows no linux-image-amd64 yet: apt-get update"
  apt-get update -qq || vm_die "apt-get update failed"
  pkg=$(kernel_pkg)
fi
[[ -n $pkg ]] || vm_die "apt knows no linux-image-amd64 even after apt-get update"
tmp=$out.tmp.$$
rm -rf "$tmp"
mkdir -p "$tmp/deb"
vm_log "kernel: apt-get download $pkg"
(cd "$tmp/deb" && apt-get download -q "$pkg" >/dev/null 2>&1) ||
  (apt-get update -qq && cd "$tmp/deb" && apt-get download -q "$pkg" >/dev/null) ||
  { rm -rf "$tmp"; vm_die "apt-get download $pkg failed"; }
dpkg -x "$tmp"/deb/*.deb "$tmp/root"
release=${pkg#linux-image-}
[[ -f $tmp/root/boot/vmlinuz-$release && -d $tmp/root/lib/modules/$release ]] ||
  { rm -rf "$tmp"; vm_die "$pkg holds no boot/vmlinuz-$release"; }
mkdir -p "$tmp/lib"
mv "$tmp/root/boot/vmlinuz-$release" "$tmp/vmlinuz"
mv "$tmp/root/lib/modules" "$tmp/lib/modules"
echo "$release" >"$tmp/version"
rm -rf "$tmp/root" "$tmp/deb"
touch "$tmp/done"
rm -rf "$out"
mv "$tmp" "$out"
vm_log "kernel: $release in $out"
