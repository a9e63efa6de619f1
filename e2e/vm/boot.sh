#!/usr/bin/env bash
# Boots the VM once (kernel.sh, rootfs.sh, initramfs.sh and disk.sh made its parts) and reports
# the run: QEMU's software emulation (TCG; -accel kvm cannot boot a standard kernel on these
# hosts), the root disk read-only under snapshot=on, the run disk, no network. The kernel's
# console (ttyS0) goes to $VM_DIR/run/console.log, the test output (ttyS1) to
# $VM_DIR/run/tests.log and, live, to stdout. A hard timeout kills QEMU.
#   VM_CPU (max,phys-bits=48), VM_MEM (2048), VM_SMP (2), VM_ACCEL (tcg; tcg,thread=single runs
#   both vCPUs on one host thread), VM_TIMEOUT (seconds, 600),
#   VM_STALL (seconds without test output before the guest counts as hung, 240)
# -cpu max emulates AMD SVM (kvm_amd loads in the guest); phys-bits=48 because TCG's default of
# 40 physical address bits makes the guest's KVM refuse libdune's guest-physical layout (which
# follows the 47-bit user address space): KVM_CREATE_VM and memory slots fail with EINVAL.
# Prints the output between the markers and a final "N passed, N failed" line: from the TAP
# lines if the command printed a TAP plan, else from the command's own last such line. Exits
# non-zero on any failure, 3 on a missing end marker (timeout, hang, crash), and on no test run.
set -euo pipefail
source "$(dirname "$0")/env.sh"
vm_need qemu-system-x86_64 qemu-system-x86
run=$VM_DIR/run
for f in kernel/vmlinuz initramfs.gz root.img run/run.img; do
  [[ -f $VM_DIR/$f ]] || vm_die "$VM_DIR/$f is missing (e2e/vm/run.sh builds it)"
done
timeout=${VM_TIMEOUT:-600}
rm -f "$run/console.log" "$run/tests.log"
: >"$run/tests.log"
cmdline="console=ttyS0 loglevel=4 panic=-1 systemd.unified_cgroup_hierarchy=1"
cmdline+=" systemd.wants=dune-vm-test.service systemd.mask=serial-getty@ttyS0.service"
cmdline+=" systemd.mask=getty.target systemd.show_status=false"
t0=$(date +%s.%N)
timeout -s KILL "$timeout" qemu-system-x86_64 -accel "${VM_ACCEL:-tcg}" -cpu "${VM_CPU:-max,phys-bits=48}" \
  -m "${VM_MEM:-2048}" -smp "${VM_SMP:-2}" -nographic -no-reboot -monitor none -nic none \
  -kernel "$VM_DIR/kernel/vmlinuz" -initrd "$VM_DIR/initramfs.gz" -append "$cmdline" \
  -drive "file=$VM_DIR/root.img,format=raw,if=virtio,snapshot=on" \
  -drive "file=$run/run.img,format=raw,if=virtio" \
  -serial "file:$run/console.log" -serial "file:$run/tests.log" </dev/null &
qemu=$!
# Stopped early (^C, a killed test run): QEMU goes too (timeout passes the signal on).
trap 'kill "$qemu" 2>/dev/null || true' EXIT
tail -n +1 -f --pid="$qemu" "$run/tests.log" &
tailer=$!
# A guest that stops printing for VM_STALL seconds (bats' own per-test limit is 120 s) is hung:
# once seen in a Dune-mode test, with the whole guest silent; QEMU is killed then, not after
# the full VM_TIMEOUT.
stall=${VM_STALL:-240} last_size=-1 quiet=0 stalled=0
while kill -0 "$qemu" 2>/dev/null; do
  sleep 5
  size=$(stat -c %s "$run/tests.log" 2>/dev/null || echo 0)
  if ((size == last_size)); then quiet=$((quiet + 5)); else quiet=0 last_size=$size; fi
  # TERM to timeout(1), which passes it on to QEMU (a KILL would end timeout alone).
  if ((quiet >= stall)); then stalled=1; kill -TERM "$qemu" 2>/dev/null || true; break; fi
done
qrc=0
wait "$qemu" || qrc=$?
wait "$tailer" 2>/dev/null || true
t1=$(date +%s.%N)
wall=$(echo "$t0 $t1" | awk '{printf "%.0f", $2 - $1}')

# Only what lies between the markers counts; the serial port may add carriage returns.
body=$(tr -d '\r' <"$run/tests.log" | sed -n '/^=== dune-vm: begin ===$/,/^=== dune-vm: end rc=[0-9]* ===$/p')
end=$(grep -oE '^=== dune-vm: end rc=[0-9]+ ===$' <<<"$body" | grep -oE '[0-9]+' || true)
p=0 f=0 s=0
if [[ -z $end ]]; then
  if ((stalled)); then why="the guest printed nothing for ${stall} s (VM_STALL): hung, QEMU killed"
  elif ((qrc == 137)); then why="QEMU killed by the ${timeout} s timeout (VM_TIMEOUT)"
  else why="QEMU exited with status $qrc"; fi
  echo "vm: FAILED: no end marker after ${wall} s: $why; the console's end:"
  tail -n 40 "$run/console.log" | tr -d '\r'
  echo
  f=1
elif plan=$(grep -oE '^1\.\.[0-9]+$' <<<"$body" | head -n1 | cut -d. -f3) && [[ -n $plan ]]; then
  s=$(grep -cE '^ok [0-9]+ .*# skip' <<<"$body" || true)
  p=$(($(grep -cE '^ok [0-9]+' <<<"$body" || true) - s))
  f=$(grep -cE '^not ok [0-9]+' <<<"$body" || true)
  if ((p + f + s < plan)); then
    echo "vm: the run stopped after $((p + f + s)) of $plan tests: the rest count as failures"
    f=$((plan - p - s))
  fi
else
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' <<<"$body" | tail -n1 || true)
  if [[ -n $line ]]; then
    p=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line")
    f=$(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$line")
  fi
fi
if [[ -n $end ]] && ((end != 0 && f == 0)); then
  echo "vm: the command exited with $end without a failed test: counted as 1 failure"
  f=1
fi
if ((p + f == 0)); then
  echo "vm: no test ran: counted as 1 failure"
  f=1
fi
echo "vm: ${wall} s wall in the VM (boot, tests, power-off); console log: $run/console.log"
echo "$p passed, $f failed$( ((s == 0)) || echo ", $s skipped")"
# 3: the run never finished (hung or killed), which run.sh may boot once more for.
if [[ -z $end ]]; then exit 3; fi
((f == 0))
