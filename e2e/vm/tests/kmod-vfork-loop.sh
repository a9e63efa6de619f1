#!/bin/sh
# Reproducer of the module's open vfork crash (issue 10, kmod/README.md "Not done yet"): runs
# libdune's "vfork killed 300" program (300 vfork children SIGKILLed by another thread while
# their parent waits) N times and counts the runs that do not print the native result. Under
# QEMU's emulated SVM with 2 vCPUs, about one run in 25 ends the whole Dune process with "the
# guest vCPU stopped in an unexpected state" under dune.ko when QEMU runs them on several
# threads (multi-threaded TCG); with -smp 1 none did (150 runs), nor with one TCG thread (102),
# which is how kmod.sh boots by default (VM_ACCEL=tcg reproduces it).
# With "kvm" first, the same loop under --backend kvm with kvm_amd loaded instead (in the boot
# of e2e/vm/kvm.sh): whether KVM's nested SVM on the same emulation fails too.
# Not part of any suite; run it in the module's boot:
#   VM_ACCEL=tcg bash e2e/vm/kmod.sh sh e2e/vm/tests/kmod-vfork-loop.sh [N]          (default 100)
#   bash e2e/vm/kvm.sh sh e2e/vm/tests/kmod-vfork-loop.sh kvm [N] [SECONDS]
# SECONDS (default none) ends the loop early after that much time, counting only the runs made.
# Prints one line per failed run, the kernel log's lines of the backend, and "P passed, F failed".
set -u
backend=dune
if [ "${1:-}" = kvm ]; then backend=kvm; shift; fi
n=${1:-100}
budget=${2:-0}
if [ "$backend" = dune ]; then
  insmod /opt/dune/build/kmod/dune.ko || { echo "0 passed, 1 failed"; exit 1; }
else
  { [ -c /dev/kvm ] || modprobe kvm_amd; } && [ -c /dev/kvm ] && [ ! -e /dev/dune ] ||
    { echo "no /dev/kvm from kvm_amd (or a /dev/dune)"; echo "0 passed, 1 failed"; exit 1; }
fi
cd /opt/dune/libdune || exit 1
policy=$(mktemp)
echo '{"dunePolicy":1,"defaultAction":"SCMP_ACT_ALLOW","syscalls":[]}' >"$policy"
want="300 vfork children killed from outside: 0 wrong; then posix_spawn 0, status 6"
bad=0
i=0
start=$(date +%s)
while [ "$i" -lt "$n" ]; do
  if [ "$budget" -gt 0 ] && [ $(($(date +%s) - start)) -ge "$budget" ]; then
    echo "time budget of $budget s spent after $i runs"
    break
  fi
  i=$((i + 1))
  out=$(timeout 120 build/dune-run --backend "$backend" --policy "$policy" tests/build/vfork killed 300 2>&1)
  rc=$?
  if [ "$rc" != 0 ] || [ "$out" != "$want" ]; then
    bad=$((bad + 1))
    echo "run $i: exit $rc: $out"
  fi
done
echo "$i runs in $(($(date +%s) - start)) s"
if [ "$backend" = dune ]; then
  dmesg | grep 'dune' | tail -n 20
else
  # Anything KVM, SVM or the guest kernel itself reported (an internal error, a triple fault,
  # an oops or warning).
  dmesg | grep -iE 'kvm|svm|bug|oops|warn|fault|rip:|call trace' | tail -n 40
fi
echo "$((i - bad)) passed, $bad failed"
[ "$bad" = 0 ]
