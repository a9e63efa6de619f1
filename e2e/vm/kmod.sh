#!/usr/bin/env bash
# The Dune kernel module's VM suite: builds dune.ko against the VM kernel's headers
# (kmod/headers.sh) and the static helper dunectl, then boots the test bed (run.sh) with
# build/kmod on the run disk and runs e2e/vm/tests/kmod.bats. A boot of its own: kvm_amd is
# not loaded in it (the module needs SVM free), unlike host-v2.bats's boot.
#   kmod.sh              the suite
#   kmod.sh COMMAND...   any command in such a boot, with the module on /opt/dune/build/kmod
set -euo pipefail
source "$(dirname "$0")/env.sh"
make -C "$E2E_REPO/kmod" >&2 || vm_die "cannot build kmod/ (make -C kmod)"
if (($# == 0)); then
  set -- env BATS_TEST_TIMEOUT=300 bats --tap --timing e2e/vm/tests/kmod.bats
fi
export VM_EXTRA="build/kmod/dune.ko build/kmod/dunectl ${VM_EXTRA:-}"
exec "$VM_SRC/run.sh" "$@"
