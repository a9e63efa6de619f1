#!/usr/bin/env bash
# libdune's own suite in the VM under --backend kvm with kvm_amd loaded: KVM with nested paging
# (QEMU's emulated AMD SVM and NPT), the common host type, unlike this fleet's paravirtual KVM
# (issue 10). The same boot as run.sh's (host-v2.bats loads kvm_amd in it too); libdune's
# dune-run and test programs are built here and shipped with VM_EXTRA, as kmod.sh does.
#   kvm.sh               the subset make test runs (suite vm-kvm): e2e/vm/tests/libdune-kvm.sh
#                        --subset, the tests e2e/vm/tests/libdune-kvm-subset.txt names (about
#                        2 min of one core with the boot, 65-111 s measured)
#   kvm.sh --all         the whole suite (138 tests in 783 s of tests on 2026-12-05)
#   kvm.sh bash e2e/vm/tests/libdune-kvm.sh FILTER...   the tests whose names contain a FILTER
#   kvm.sh COMMAND...    any command in such a boot
set -euo pipefail
source "$(dirname "$0")/env.sh"
make -C "$E2E_REPO/libdune" >&2 && make -C "$E2E_REPO/libdune/tests" all LIBDUNE="$E2E_REPO/libdune/build/libdune.a" >&2 ||
  vm_die "cannot build libdune and its test programs"
if (($# == 0)); then
  set -- bash e2e/vm/tests/libdune-kvm.sh --subset
elif [[ $1 == --all ]]; then
  set -- bash e2e/vm/tests/libdune-kvm.sh
fi
export VM_TIMEOUT=${VM_TIMEOUT:-1800}
# The suite prints its lines as it goes, but one test can run for minutes under emulation
# (the subset's longest about 5 s; its runner gives each test 240 s and then reports it hung
# and goes on, unless the whole guest is wedged, as seen once: a 300 s silence ends that boot,
# which run.sh boots once more).
if [[ $* == *--subset* ]]; then export VM_STALL=${VM_STALL:-300}; fi
export VM_STALL=${VM_STALL:-900}
# Two guest CPUs on one QEMU thread, as kmod.sh boots: the guest wedges and vCPU stops seen
# under multi-threaded TCG (e2e/README.md) point at QEMU's SVM emulation there; the subset
# took 59 s of tests (80 s in all) this way on 2026-12-05, 62 of 62 passed. VM_ACCEL=tcg for MTTCG.
export VM_ACCEL=${VM_ACCEL:-tcg,thread=single}
export VM_EXTRA="libdune ${VM_EXTRA:-}"
exec "$VM_SRC/run.sh" "$@"
