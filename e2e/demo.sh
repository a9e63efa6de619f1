#!/usr/bin/env bash
# `make demo`: builds a busybox bundle under build/demo/ and runs it with `dune run`.
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
make_bundle "$demo/bundle" sh -c 'echo "hello from a Dune container"; echo; uname -a; echo; ps; echo; ls /; echo; id'
bundle_jq "$demo/bundle" '.hostname = "dune-demo"'

echo "demo: runtime $DUNE ($("$DUNE" --version | head -n1))"
echo "demo: bundle  $demo/bundle"
echo "demo: \$ dune --root $root run --bundle $demo/bundle $id"
echo "------------------------------------------------------------------------"
set +e
"$DUNE" --root "$root" run --bundle "$demo/bundle" "$id"
rc=$?
set -e
echo "------------------------------------------------------------------------"
echo "demo: container exited with status $rc"
exit "$rc"
