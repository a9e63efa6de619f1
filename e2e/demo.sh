#!/usr/bin/env bash
# `make demo`: builds a busybox bundle under build/demo/, runs it with dune as a Dune
# process, shows that it is one (its host executable is dune-run, libdune's sandbox) and
# prints the Dune monitor's counters for the container.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
DUNE=${DUNE:-$REPO/build/bin/dune}
[[ $DUNE == */* ]] || DUNE=$(command -v "$DUNE" || echo "$DUNE")
export E2E_REPO=$REPO DUNE
source "$REPO/e2e/lib/bundle.sh"

[[ $(id -u) == 0 ]] || { echo "demo: must run as root (containers need namespaces and cgroups)" >&2; exit 1; }
[[ -x $DUNE ]] || { echo "demo: $DUNE not found; run 'make build' first" >&2; exit 1; }

demo=$REPO/build/demo
root=$demo/state
id=dune-demo-$$
rm -rf "$demo/bundle"
mkdir -p "$demo" "$root"
make_bundle "$demo/bundle" sh -c 'echo "hello from a Dune container"; echo; uname -a; echo; ps; echo; ls /; echo; id; echo;
  echo "mkdir is denied by this container'"'"'s seccomp policy (enforced by the Dune monitor):"; mkdir /tmp/denied;
  touch /tmp/.demo-done; exec sleep 600'
bundle_jq "$demo/bundle" '.hostname = "dune-demo"
  | .linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
                      syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1}]}'
rm -f "$demo/bundle/rootfs/tmp/.demo-done"

cleanup() { "$DUNE" --root "$root" delete --force "$id" >/dev/null 2>&1 || true; }
trap cleanup EXIT

echo "demo: runtime $DUNE ($("$DUNE" --version | head -n1))"
echo "demo: bundle  $demo/bundle"
echo "demo: \$ dune --root $root create --bundle $demo/bundle $id && dune start $id"
echo "------------------------------------------------------------------------"
"$DUNE" --root "$root" create --bundle "$demo/bundle" "$id"
"$DUNE" --root "$root" start "$id"
for _ in $(seq 300); do [[ -e $demo/bundle/rootfs/tmp/.demo-done ]] && break; sleep 0.05; done
[[ -e $demo/bundle/rootfs/tmp/.demo-done ]] || { echo "demo: the container did not finish its commands" >&2; exit 1; }
echo "------------------------------------------------------------------------"
pid=$("$DUNE" --root "$root" state "$id" | jq -r .pid)
echo "demo: container init pid $pid runs $(readlink "/proc/$pid/exe") (dune-run's sealed copy of itself: a Dune process)"
echo "demo: \$ dune events --stats $id   (the Dune monitor's counters)"
"$DUNE" --root "$root" events --stats "$id" | jq '.data.dune'
"$DUNE" --root "$root" delete --force "$id"
trap - EXIT
echo "demo: container deleted"
