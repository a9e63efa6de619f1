#!/usr/bin/env bash
# The Dune kernel module's VM suite: builds dune.ko against the VM kernel's headers
# (kmod/headers.sh) and the static helper dunectl, then boots the test bed (run.sh) with
# build/kmod on the run disk and runs e2e/vm/tests/kmod.bats. A boot of its own: kvm_amd is
# not loaded in it (the module needs SVM free), unlike host-v2.bats's boot. libdune (its
# dune-run and test programs, built here) comes along for its suite under --backend dune; the
# runtime (build/bin, or DUNE's directory: `make build` first) is on the run disk as in every
# boot (disk.sh), for the tests of Dune-mode containers on the module.
#   kmod.sh              the suite
#   kmod.sh COMMAND...   any command in such a boot, with the module on /opt/dune/build/kmod
set -euo pipefail
source "$(dirname "$0")/env.sh"
make -C "$E2E_REPO/kmod" >&2 || vm_die "cannot build kmod/ (make -C kmod)"
# libdune's dune-run and test programs, for its suite under --backend dune in the VM.
make -C "$E2E_REPO/libdune" >&2 && make -C "$E2E_REPO/libdune/tests" all LIBDUNE="$E2E_REPO/libdune/build/libdune.a" >&2 ||
  vm_die "cannot build libdune and its test programs"
suite=0
if (($# == 0)); then
  # libdune's suite is one test of about 4 minutes under emulation (more on a loaded host).
  # Then the module stays loaded for the VM's power-off, with info messages on the console
  # (dmesg -n 7): its reboot notifier must switch SVM off on every CPU (checked below).
  set -- sh -c 'env BATS_TEST_TIMEOUT=900 bats --tap --timing e2e/vm/tests/kmod.bats; rc=$?
    rmmod kvm_amd 2>/dev/null; grep -q "^dune " /proc/modules || insmod build/kmod/dune.ko || rc=1
    dmesg -n 7; exit $rc'
  suite=1
fi
export VM_TIMEOUT=${VM_TIMEOUT:-1800}
# Two guest CPUs on one QEMU thread: with multi-threaded TCG (QEMU 7.2's default) about one
# run in 25 of libdune's "vfork killed 300" program stops a vCPU with the host's own state in
# its VMCB, which only the emulated VMRUN/#VMEXIT writes; with one thread it never did (102 of
# 102 loop runs), nor with one guest CPU (kmod/README.md "Not done yet"). The suite takes the
# same time either way (it is mostly one Dune process at a time). VM_ACCEL=tcg reproduces it.
export VM_ACCEL=${VM_ACCEL:-tcg,thread=single}
# That test prints nothing until it ends: a silence of a few minutes is no hang here.
export VM_STALL=${VM_STALL:-900}
export VM_EXTRA="build/kmod/dune.ko build/kmod/dunectl libdune ${VM_EXTRA:-}"
((suite)) || exec "$VM_SRC/run.sh" "$@"

out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
"$VM_SRC/run.sh" "$@" | tee "$out" || rc=$?
p=0 f=0
read -r p f < <(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n1 | grep -oE '[0-9]+' | tr '\n' ' ') || true
# The power-off after the suite: the notifier's line, and no kernel warning or oops after it.
console=$VM_DIR/run/console.log
off='dune: svm switched off on every CPU before halt or power-off (cpus_enabled 0)'
if grep -qF "$off" "$console" &&
  ! awk -v m="$off" 'index($0, m) { on = 1 } on' "$console" | grep -qE 'Call Trace|Oops|BUG:|WARNING:'; then
  echo "ok - power-off with dune.ko loaded: SVM switched off on every CPU first (kernel console)"
  p=$((p + 1))
else
  echo "not ok - power-off with dune.ko loaded: no \"$off\" line, or a kernel warning after it; the console's end:"
  tail -n 30 "$console" | tr -d '\r'
  f=$((f + 1)) rc=1
fi
echo "$p passed, $f failed"
exit "$rc"
