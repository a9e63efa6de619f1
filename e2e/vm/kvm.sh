#!/usr/bin/env bash
# libdune's own suite in the VM under --backend kvm with kvm_amd loaded: KVM with nested paging
# (QEMU's emulated AMD SVM and NPT), the common host type, unlike this fleet's paravirtual KVM
# (issue 10). The same boot as run.sh's (host-v2.bats loads kvm_amd in it too); libdune's
# dune-run and test programs are built here and shipped with VM_EXTRA, as kmod.sh does.
#   kvm.sh               the suite: e2e/vm/tests/libdune-kvm.sh (more than 14 min under TCG:
#                        not in make test yet)
#   kvm.sh bash e2e/vm/tests/libdune-kvm.sh FILTER   the tests whose names contain FILTER
#   kvm.sh COMMAND...    any command in such a boot
set -euo pipefail
source "$(dirname "$0")/env.sh"
make -C "$E2E_REPO/libdune" >&2 && make -C "$E2E_REPO/libdune/tests" all LIBDUNE="$E2E_REPO/libdune/build/libdune.a" >&2 ||
  vm_die "cannot build libdune and its test programs"
if (($# == 0)); then
  set -- bash e2e/vm/tests/libdune-kvm.sh
fi
export VM_TIMEOUT=${VM_TIMEOUT:-1800}
# The suite prints its lines as it goes, but one test can run for minutes under emulation.
export VM_STALL=${VM_STALL:-900}
export VM_EXTRA="libdune ${VM_EXTRA:-}"
exec "$VM_SRC/run.sh" "$@"
