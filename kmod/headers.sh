#!/usr/bin/env bash
# The target kernel's build tree for dune.ko, from Debian's packages: linux-headers-R (arch and
# -common) and the matching linux-kbuild, fetched with apt-get download and unpacked with
# dpkg -x under build/kmod/headers/R (never installed on the host). Cached: runs once per R.
#   headers.sh [R]   R defaults to the VM test bed's kernel (e2e/vm/kernel.sh fetches it)
# Prints the kbuild directory (KDIR) on stdout.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "kmod: FATAL: $*" >&2; exit 1; }
release=${1:-}
if [[ -z $release ]]; then
  vm_dir=${VM_DIR:-$repo/build/e2e/vm}
  [[ -f $vm_dir/kernel/version ]] || bash "$repo/e2e/vm/kernel.sh" >&2 ||
    die "cannot fetch the VM kernel (e2e/vm/kernel.sh)"
  release=$(cat "$vm_dir/kernel/version")
fi
out=$repo/build/kmod/headers/$release
kdir=$out/usr/src/linux-headers-$release
if [[ ! -f $out/done ]]; then
  command -v apt-get >/dev/null && command -v dpkg >/dev/null || die "apt-get and dpkg are needed"
  version() { apt-cache show "$1" 2>/dev/null | awk '$1 == "Version:" {print $2; exit}'; }
  ver=$(version "linux-headers-$release")
  if [[ -z $ver ]]; then apt-get update -qq >&2 || die "apt-get update failed"; ver=$(version "linux-headers-$release"); fi
  [[ -n $ver ]] || die "apt knows no linux-headers-$release"
  common=${release%-*}-common          # 6.1.0-57-amd64 -> 6.1.0-57-common
  series=$(echo "$release" | cut -d. -f1,2)  # 6.1
  tmp=$out.tmp.$$
  rm -rf "$tmp"; mkdir -p "$tmp/deb"
  echo "kmod: apt-get download linux-headers-$release linux-headers-$common linux-kbuild-$series=$ver" >&2
  (cd "$tmp/deb" && apt-get download -q "linux-headers-$release=$ver" "linux-headers-$common=$ver" \
      "linux-kbuild-$series=$ver" >/dev/null 2>&1) || { rm -rf "$tmp"; die "apt-get download failed"; }
  for deb in "$tmp"/deb/*.deb; do dpkg -x "$deb" "$tmp"; done
  rm -rf "$tmp/deb"
  [[ -f $tmp/usr/src/linux-headers-$release/Module.symvers ]] || { rm -rf "$tmp"; die "no build tree for $release"; }
  # The arch tree includes the common one by its installed path (/usr/src/...): point it here.
  sed -i "s|/usr/src/|$out/usr/src/|" "$tmp/usr/src/linux-headers-$release/Makefile"
  touch "$tmp/done"
  rm -rf "$out"; mv "$tmp" "$out"
fi
echo "$kdir"
