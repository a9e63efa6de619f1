#!/usr/bin/env bash
# Busybox bundles for the demo, the tests and the benchmark.
#
# Source it for the functions, or run it: `bundle.sh DIR [ARG...]` makes a bundle in DIR whose
# process runs ARG... (default: sh) with terminal false.
#
#   make_rootfs DIR            DIR/ = busybox-static + applet links + /etc/passwd, /etc/group
#                              (copied from a template built once under build/e2e/)
#   make_bundle DIR [ARG...]   DIR/rootfs + DIR/config.json from `$DUNE spec`, args set,
#                              terminal false, root writable
#   bundle_jq DIR [JQ-OPTIONS...] FILTER [JQ-OPTIONS...]   edits DIR/config.json in place
#   bundle_set_args DIR ARG...  sets process.args
#
# $DUNE is the runtime binary (default: build/bin/dune of this repository); `runc spec`
# writes the same default config, so DUNE=runc works too.

E2E_REPO=${E2E_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
DUNE=${DUNE:-$E2E_REPO/build/bin/dune}
BUSYBOX=${BUSYBOX:-/bin/busybox}

# The busybox rootfs is built once into a template (about 270 applet links) and copied.
E2E_ROOTFS_TEMPLATE=${E2E_ROOTFS_TEMPLATE:-$E2E_REPO/build/e2e/rootfs-template}

build_rootfs_template() {
  local root=$1 applet tmp
  [[ -x $BUSYBOX ]] || { echo "bundle.sh: $BUSYBOX missing (apt-get install busybox-static)" >&2; return 1; }
  tmp=$root.tmp.$$
  rm -rf "$tmp"
  mkdir -p "$tmp"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,home,run,var/tmp,mnt}
  chmod 1777 "$tmp/tmp" "$tmp/var/tmp"
  cp "$BUSYBOX" "$tmp/bin/busybox"
  for applet in $("$tmp/bin/busybox" --list); do
    [[ $applet == busybox ]] || ln -s busybox "$tmp/bin/$applet"
  done
  cat >"$tmp/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
  cat >"$tmp/etc/group" <<'G'
root:x:0:
nogroup:x:65534:
G
  : >"$tmp/etc/hosts"
  echo "nameserver 127.0.0.1" >"$tmp/etc/resolv.conf"
  rm -rf "$root"
  mv "$tmp" "$root"
}

make_rootfs() {
  local root=$1
  if [[ ! -x $E2E_ROOTFS_TEMPLATE/bin/busybox || $BUSYBOX -nt $E2E_ROOTFS_TEMPLATE/bin/busybox ]]; then
    mkdir -p "$(dirname "$E2E_ROOTFS_TEMPLATE")"
    build_rootfs_template "$E2E_ROOTFS_TEMPLATE" || return 1
  fi
  mkdir -p "$(dirname "$root")"
  cp -a "$E2E_ROOTFS_TEMPLATE" "$root"
}

bundle_jq() {
  local dir=$1; shift
  jq "$@" "$dir/config.json" >"$dir/config.json.new" && mv "$dir/config.json.new" "$dir/config.json"
}

make_bundle() {
  local dir=$1; shift
  (($#)) || set -- sh
  mkdir -p "$dir"
  rm -f "$dir/config.json"
  make_rootfs "$dir/rootfs" || return 1
  "$DUNE" spec --bundle "$dir" || { echo "bundle.sh: '$DUNE spec --bundle $dir' failed" >&2; return 1; }
  bundle_set_args "$dir" "$@"
  # runc's default has a read-only root; the tests write markers into it.
  bundle_jq "$dir" '.process.terminal = false | .root.readonly = false'
}

# json_array ARG...: a JSON array of strings (jq would take "-c" in --args for an option).
json_array() {
  local a out=()
  for a; do out+=("$(jq -n --arg v "$a" '$v')"); done
  local IFS=,
  echo "[${out[*]}]"
}

# bundle_set_args DIR ARG...: the container's process runs ARG...
bundle_set_args() {
  local dir=$1; shift
  bundle_jq "$dir" '.process.args = $a' --argjson a "$(json_array "$@")"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  (($#)) || { echo "usage: $0 DIR [ARG...]" >&2; exit 2; }
  make_bundle "$@"
fi
