#!/usr/bin/env bash
# Runs inside the VM (e2e/vm/kvm.sh boots it): libdune's own suite (libdune/tests/run_tests.c)
# under --backend kvm with kvm_amd loaded, which is KVM with nested paging on QEMU's emulated
# SVM. dune-run picks KVM by itself here: the boot has no /dev/dune.
#   libdune-kvm.sh                 the whole suite (138 tests in 783 s under TCG on 2026-12-05)
#   libdune-kvm.sh FILTER...       the tests whose names contain any FILTER
#   libdune-kvm.sh --subset        the subset e2e/vm/tests/libdune-kvm-subset.txt names (make test)
# One run_tests process per test, under a hard limit (LIBDUNE_TEST_LIMIT seconds, 240): a test
# whose Dune process wedges the guest's KVM (seen here: the runner's own SIGKILL at its 60 s
# limit did not end it) is reported as hung, with what the guest kernel says about its tasks,
# and the suite goes on. Every test must pass but those libdune-vm-allowed.txt allows, each for the reason
# given; prints "N passed, N failed" last, the unexpected failures counted as failed.
set -uo pipefail
[[ -c /dev/kvm ]] || modprobe kvm_amd || { echo "modprobe kvm_amd failed"; echo "0 passed, 1 failed"; exit 1; }
[[ -c /dev/kvm && ! -e /dev/dune ]] || { echo "no /dev/kvm (or a /dev/dune) after modprobe kvm_amd"; echo "0 passed, 1 failed"; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
# The failures allowed in this VM, with their reasons (shared with kmod.bats).
mapfile -t ALLOWED_FAILURES < <(grep -vE '^(#|$)' "$here/libdune-vm-allowed.txt")
cd "${LIBDUNE_DIR:-/opt/dune/libdune}"
runner=tests/build/run_tests
limit=${LIBDUNE_TEST_LIMIT:-240}

filters=("$@")
subset=0
if [[ ${1:-} == --subset ]]; then
  subset=1
  # Exact names; a line "#" or starting "# " is a comment ("#! script" is a name).
  mapfile -t filters < <(grep -vE '^#( |$)' "$here/libdune-kvm-subset.txt" | grep -v '^[[:space:]]*$')
fi
names=()
while IFS= read -r name; do
  want=$((${#filters[@]} == 0))
  for f in "${filters[@]}"; do
    if ((subset)); then [[ $name == "$f" ]] && want=1; else [[ $name == *"$f"* ]] && want=1; fi
  done
  ((want)) && names+=("$name")
done < <("$runner" --list)
((${#names[@]})) || { echo "no test matches: ${filters[*]}"; echo "0 passed, 1 failed"; exit 1; }
if ((subset && ${#names[@]} != ${#filters[@]})); then
  echo "the subset names ${#filters[@]} tests, ${#names[@]} match: fix libdune-kvm-subset.txt"
  echo "0 passed, 1 failed"
  exit 1
fi

# What the guest kernel says about the tasks of a run that does not end: states, wait
# channels, kernel stacks of dune-run's threads, the kernel log's end.
hang_report() {
  echo "# hung: the guest's processes and dune-run's kernel stacks:"
  ps -eo pid,ppid,stat,wchan:24,etime,args | grep -E 'dune-run|run_tests|PID' | grep -v grep | sed 's/^/#   /'
  for p in $(pgrep -f build/dune-run); do
    for t in /proc/"$p"/task/*; do
      echo "#   task ${t##*/} ($(cat "$t"/stat 2>/dev/null | awk '{print $3}')):"
      sed 's/^/#     /' "$t"/stack 2>/dev/null
    done
  done
  dmesg | tail -n 30 | sed 's/^/#   dmesg: /'
}

passed=0 allowed=0 unexpected=0 hung=0
t_all=$(date +%s.%N)
for name in "${names[@]}"; do
  out=$(mktemp)
  t0=$(date +%s.%N)
  timeout -s KILL "$limit" "$runner" "$PWD/build/dune-run" "$PWD/tests/build" "$PWD" "$name" >"$out" 2>&1
  rc=$?
  secs=$(echo "$t0 $(date +%s.%N)" | awk '{printf "%.1f", $2 - $1}')
  line=$(grep -E '^(ok   |FAIL )' "$out" | head -n1)
  if ((rc == 137)) || [[ -z $line ]]; then
    line="FAIL $name: hung: no result after $secs s (LIBDUNE_TEST_LIMIT)"
    ((rc == 137)) && hung=$((hung + 1))
    echo "$line"
    hang_report
    pkill -KILL -f build/dune-run
  elif [[ $line == "ok   "* ]]; then
    echo "$line"
  else
    grep -vE '^[0-9]+ passed, [0-9]+ failed' "$out" | head -n 20
  fi
  rm -f "$out"
  if [[ $line == "ok   "* ]]; then passed=$((passed + 1)); continue; fi
  known=0
  # Each entry is a glob for the start of the line (its other characters match themselves).
  for k in "${ALLOWED_FAILURES[@]}"; do [[ ${line#FAIL } == $k* ]] && known=1; done
  if ((known)); then allowed=$((allowed + 1)); else echo "unexpected failure: ${line#FAIL }" | cut -c1-200; unexpected=$((unexpected + 1)); fi
done
total=$(echo "$t_all $(date +%s.%N)" | awk '{printf "%.0f", $2 - $1}')
echo "libdune under --backend kvm (kvm_amd): ${#names[@]} tests in $total s: $passed passed, $((allowed + unexpected)) failed ($hung hung); $allowed allowed failures, $unexpected unexpected"
echo "$passed passed, $unexpected failed"
((unexpected == 0))
