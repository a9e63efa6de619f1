#!/usr/bin/env bash
# The initramfs: busybox-static, e2e/vm/init and the modules the root disk needs (virtio PCI
# and block, ext4, in dependency order from the root tree's modules.dep). Rebuilt when init or
# this script change.
#   $VM_DIR/initramfs.gz   newc cpio, gzip
set -euo pipefail
source "$(dirname "$0")/env.sh"
out=$VM_DIR/initramfs.gz
if [[ -f $out && $out -nt $VM_SRC/init && $out -nt $0 && $out -nt $VM_DIR/root.img ]]; then exit 0; fi
vm_need cpio cpio
vm_need gzip gzip
busybox=${BUSYBOX:-/bin/busybox}
vm_need readelf binutils
readelf -h "$busybox" >/dev/null 2>&1 && ! readelf -l "$busybox" | grep -q 'program interpreter' ||
  vm_die "$busybox is not a static busybox (apt-get install busybox-static)"
release=$(cat "$VM_DIR/kernel/version")
moddir=$VM_DIR/rootfs/lib/modules/$release
[[ -f $moddir/modules.dep ]] || vm_die "$moddir/modules.dep missing (rootfs.sh first)"

# Depth-first over modules.dep: a module's dependencies before it, each once.
declare -A seen=()
order=()
add() {
  local path=$1 dep deps
  [[ -n ${seen[$path]:-} ]] && return 0
  seen[$path]=1
  deps=$(awk -v m="$path:" '$1 == m { $1 = ""; print; exit }' "$moddir/modules.dep")
  for dep in $deps; do add "$dep"; done
  order+=("$path")
}
for name in virtio_pci virtio_blk crc32c_generic ext4; do
  path=$(awk -v n="/$name.ko:" 'index($1, n) { sub(/:$/, "", $1); print $1; exit }' "$moddir/modules.dep")
  [[ -n $path ]] || vm_die "module $name not in $moddir/modules.dep"
  add "$path"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dune-vm-initramfs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"/{bin,dev,proc,sys,newroot}
cp "$busybox" "$tmp/bin/busybox"
install -m 0755 "$VM_SRC/init" "$tmp/init"
for path in "${order[@]}"; do
  mkdir -p "$tmp/$(dirname "$path")"
  cp "$moddir/$path" "$tmp/$path"
done
printf '%s\n' "${order[@]}" >"$tmp/modules.load"
(cd "$tmp" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
vm_log "initramfs: $out (${#order[@]} modules)"
