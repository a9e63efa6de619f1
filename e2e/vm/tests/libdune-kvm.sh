#!/usr/bin/env bash
# Runs inside the VM (e2e/vm/kvm.sh boots it): libdune's own suite (libdune/tests/run_tests.c)
# under --backend kvm with kvm_amd loaded, which is KVM with nested paging on QEMU's emulated
# SVM. dune-run picks KVM by itself here: the boot has no /dev/dune. Every test must pass but
# the allowed ones below, each for the reason given; prints the suite's own "N passed, N failed"
# line last, with the unexpected failures counted as failed. An argument is run_tests' name
# filter (a substring of the test names): the whole suite took more than 14 minutes here.
set -uo pipefail
[[ -c /dev/kvm ]] || modprobe kvm_amd || { echo "modprobe kvm_amd failed"; echo "0 passed, 1 failed"; exit 1; }
[[ -c /dev/kvm && ! -e /dev/dune ]] || { echo "no /dev/kvm (or a /dev/dune) after modprobe kvm_amd"; echo "0 passed, 1 failed"; exit 1; }
ALLOWED_FAILURES=(
)
cd /opt/dune/libdune
# Printed as it goes (a silent guest counts as hung after VM_STALL), kept for the count.
log=$(mktemp)
tests/build/run_tests "$PWD/build/dune-run" "$PWD/tests/build" "$PWD" "$@" 2>&1 | tee "$log"
out=$(cat "$log")
last=$(tail -n1 <<<"$out")
[[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed ]] || { echo "no count line from run_tests"; echo "0 passed, 1 failed"; exit 1; }
passed=${BASH_REMATCH[1]} allowed=0 unexpected=0
while IFS= read -r line; do
  known=0
  # Each entry is a glob for the start of the line (its other characters match themselves).
  for k in "${ALLOWED_FAILURES[@]}"; do [[ $line == $k* ]] && known=1; done
  if ((known)); then allowed=$((allowed + 1)); else echo "unexpected failure: $line"; unexpected=$((unexpected + 1)); fi
done < <(grep '^FAIL ' <<<"$out" | sed 's/^FAIL //')
echo "libdune under --backend kvm (kvm_amd): $last; $allowed allowed failures, $unexpected unexpected"
echo "$passed passed, $unexpected failed"
((unexpected == 0))
