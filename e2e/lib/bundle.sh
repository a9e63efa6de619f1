#!/usr/bin/env bash
# Busybox bundles for the demo, the tests and the benchmark.
#
# Source it for the functions, or run it: `bundle.sh DIR [ARG...]` makes a bundle in DIR whose
# process runs ARG... (default: sh) with terminal false.
#
#   make_rootfs DIR            DIR/ = busybox-static + applet links + /etc/passwd, /etc/group
#   make_bundle DIR [ARG...]   DIR/rootfs + DIR/config.json from `$DUNE spec`, args set
#   bundle_jq DIR FILTER [JQ-OPTIONS...]   edits DIR/config.json in place with jq
#   bundle_set_args DIR ARG...  sets process.args
#
# $DUNE is the runtime binary (default: build/bin/dune of this repository); `runc spec`
# writes the same default config, so DUNE=runc works too.

E2E_REPO=${E2E_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
DUNE=${DUNE:-$E2E_REPO/build/bin/dune}
BUSYBOX=${BUSYBOX:-/bin/busybox}

make_rootfs() {
  local root=$1 applet
  [[ -x $BUSYBOX ]] || { echo "bundle.sh: $BUSYBOX missing (apt-get install busybox-static)" >&2; return 1; }
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,home,run,var/tmp,mnt}
  chmod 1777 "$root/tmp" "$root/var/tmp"
  cp "$BUSYBOX" "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [[ $applet == busybox ]] || ln -sf busybox "$root/bin/$applet"
  done
  cat >"$root/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
  cat >"$root/etc/group" <<'G'
root:x:0:
nogroup:x:65534:
G
  : >"$root/etc/hosts"
  echo "nameserver 127.0.0.1" >"$root/etc/resolv.conf"
}

bundle_jq() {
  local dir=$1 filter=$2; shift 2
  jq "$@" "$filter" "$dir/config.json" >"$dir/config.json.new" && mv "$dir/config.json.new" "$dir/config.json"
}

make_bundle() {
  local dir=$1; shift
  (($#)) || set -- sh
  mkdir -p "$dir"
  rm -f "$dir/config.json"
  make_rootfs "$dir/rootfs" || return 1
  "$DUNE" spec --bundle "$dir" || { echo "bundle.sh: '$DUNE spec --bundle $dir' failed" >&2; return 1; }
  bundle_set_args "$dir" "$@"
  bundle_jq "$dir" '.process.terminal = false'
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
