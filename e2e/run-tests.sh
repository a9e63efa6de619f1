#!/usr/bin/env bash
# `make test`: runs every test suite in a fixed order and prints one summary line,
# exactly "N passed, N failed" (summed over the suites). Exits non-zero if anything failed.
#
#   DUNE=PATH            the runtime under test (default build/bin/dune)
#   E2E_ONLY="a b"       run only these suites (names as printed below), for development
#   DUNE_ALLOW_NO_KVM=1  without /dev/kvm, print the KVM suites as skipped instead of failing
set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
export DUNE=${DUNE:-$REPO/build/bin/dune}
[[ $DUNE == */* ]] || DUNE=$(command -v "$DUNE" || echo "$DUNE")
LOGS=$REPO/build/test-logs
mkdir -p "$LOGS"

total_pass=0 total_fail=0 total_skip=0
summary=()
fatal=0

banner() { printf '\n==================== %s ====================\n' "$*"; }

record() { # SUITE PASSED FAILED SKIPPED NOTE
  total_pass=$((total_pass + $2)) total_fail=$((total_fail + $3)) total_skip=$((total_skip + $4))
  summary+=("$(printf '%-22s %5s passed %5s failed %5s skipped  %s' "$1" "$2" "$3" "$4" "$5")")
}

wanted() { [[ -z ${E2E_ONLY:-} || " $E2E_ONLY " == *" $1 "* ]]; }

# ---------------------------------------------------------------- environment
if [[ $(id -u) != 0 ]]; then
  echo "run-tests: FATAL: must run as root (the integration tests create namespaces, mounts, cgroups)" >&2
  exit 1
fi
have_kvm=1
if [[ ! -c /dev/kvm ]]; then
  have_kvm=0
  if [[ ${DUNE_ALLOW_NO_KVM:-} == 1 ]]; then
    echo "run-tests: WARNING: /dev/kvm is missing; DUNE_ALLOW_NO_KVM=1 turns the KVM suites into skips"
  else
    echo "run-tests: FATAL: /dev/kvm is missing (Dune processes need KVM); set DUNE_ALLOW_NO_KVM=1 to skip the KVM suites" >&2
    exit 1
  fi
fi
if [[ ! -x $DUNE ]]; then
  echo "run-tests: FATAL: runtime binary $DUNE is missing (make build)" >&2
  exit 1
fi

export E2E_WORDING=${E2E_WORDING:-dune}
# A hung runtime command must fail its test, not stall the run.
export BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-180}
if [[ $E2E_WORDING != dune ]]; then
  echo "run-tests: WARNING: E2E_WORDING=$E2E_WORDING: errors.bats checks $E2E_WORDING's error messages, not dune's"
fi

# ---------------------------------------------------------------- suite runners
run_dotnet() { # NAME PROJECT
  local name=$1 log=$LOGS/$1.log rc counts p f s
  banner "$name: dotnet test $2"
  dotnet test "$2" --nologo 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  # VSTest: "Failed!  - Failed: 1, Passed: 9, Skipped: 0, Total: 10";
  # Microsoft.Testing.Platform: "total: 10, failed: 1, succeeded: 9, skipped: 0".
  counts=$(grep -aoE 'Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+' "$log" | tail -n1)
  if [[ -n $counts ]]; then
    read -r f p s < <(echo "$counts" | grep -oE '[0-9]+' | tr '\n' ' ')
  else
    counts=$(grep -aoiE 'failed: *[0-9]+, *succeeded: *[0-9]+, *skipped: *[0-9]+' "$log" | tail -n1)
    if [[ -n $counts ]]; then
      read -r f p s < <(echo "$counts" | grep -oE '[0-9]+' | tr '\n' ' ')
    else
      p=0 f=0 s=0
    fi
  fi
  if ((rc != 0 && f == 0)); then
    echo "run-tests: $name exited with $rc without reporting a failed test (build error?): counted as 1 failure"
    f=1
  fi
  if ((p + f == 0 && rc == 0)); then
    echo "run-tests: $name ran no test: counted as 1 failure"
    f=1
  fi
  record "$name" "$p" "$f" "$s" "(log: ${log#"$REPO"/})"
}

run_make_suite() { # NAME DIR: the Makefile's test target prints a final "N passed, N failed" line
  local name=$1 log=$LOGS/$1.log rc line p f
  banner "$name: make -C $2 test"
  make -C "$2" test 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  line=$(grep -aE '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n1)
  if [[ -n $line ]]; then
    read -r p f < <(echo "$line" | grep -oE '[0-9]+' | head -n2 | tr '\n' ' ')
  else
    echo "run-tests: $name printed no 'N passed, N failed' line"
    p=0 f=0
  fi
  if ((rc != 0 && f == 0)); then
    echo "run-tests: $name exited with $rc without reporting a failed test: counted as 1 failure"
    f=1
  fi
  if ((p + f == 0)); then
    echo "run-tests: $name ran no test: counted as 1 failure"
    f=1
  fi
  record "$name" "$p" "$f" 0 "(log: ${log#"$REPO"/})"
}

run_bats() { # NAME FILE
  local name=$1 log=$LOGS/$1.tap rc plan p f s
  banner "$name: bats --tap $2"
  bats --tap "$2" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  plan=$(grep -aoE '^1\.\.[0-9]+' "$log" | head -n1 | cut -d. -f3)
  s=$(grep -acE '^ok [0-9]+ .*# skip' "$log")
  p=$(( $(grep -acE '^ok [0-9]+' "$log") - s ))
  f=$(grep -acE '^not ok [0-9]+' "$log")
  if [[ -n $plan ]] && ((p + f + s < plan)); then
    echo "run-tests: $name stopped after $((p + f + s)) of $plan tests: the rest count as failures"
    f=$((plan - p - s))
  fi
  if ((rc != 0 && f == 0)); then
    echo "run-tests: $name exited with $rc without a failed test: counted as 1 failure"
    f=1
  fi
  record "$name" "$p" "$f" "$s" "(log: ${log#"$REPO"/})"
}

run_script_suite() { # NAME COMMAND...: prints a final "N passed, N failed" line
  local name=$1 log=$LOGS/$1.log rc line p f
  shift
  banner "$name: $*"
  "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  line=$(grep -aE '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n1)
  read -r p f < <(echo "${line:-0 passed, 0 failed}" | grep -oE '[0-9]+' | head -n2 | tr '\n' ' ')
  if ((rc != 0 && f == 0)) || ((p + f == 0)); then
    echo "run-tests: $name exited with $rc after $p passed, $f failed: counted as 1 failure"
    f=$((f + 1))
  fi
  record "$name" "$p" "$f" 0 "(log: ${log#"$REPO"/})"
}

skip_suite() { # NAME REASON
  echo "run-tests: SKIPPED suite $1: $2"
  summary+=("$(printf '%-22s SKIPPED: %s' "$1" "$2")")
}

# ---------------------------------------------------------------- the fixed list
ran=()
# The suites' own assertions first: a negated command bats would ignore fails here.
if wanted bats-lint; then
  run_script_suite bats-lint bash e2e/tools/check-bats.sh; ran+=(bats-lint)
fi
if wanted unit; then
  run_dotnet unit oci/Dune.Oci.Tests; ran+=(unit)
fi
if wanted shim-unit; then
  run_dotnet shim-unit shim/Dune.Shim.Tests; ran+=(shim-unit)
fi
if wanted native; then
  run_make_suite native oci/native; ran+=(native)
fi
if wanted kmod-unit; then run_make_suite kmod-unit kmod; ran+=(kmod-unit); fi  # the VT-x backend's logic (no VT-x needed)
if wanted libdune; then
  if ((!have_kvm)); then skip_suite libdune "/dev/kvm missing (DUNE_ALLOW_NO_KVM=1)"
  else run_make_suite libdune libdune; ran+=(libdune); fi
fi
for suite in cli errors cgroups containerd shim cri docker; do
  wanted "$suite" || continue
  if [[ $suite == shim || $suite == cri ]] && ((!have_kvm)); then skip_suite "$suite" "/dev/kvm missing (DUNE_ALLOW_NO_KVM=1)"; continue; fi
  run_bats "$suite" "e2e/$suite.bats"; ran+=("$suite")
done
# Dune mode end to end (busybox; strace and gdb inside; busybox on a pure cgroup v2 view of the host; then the Debian image, built with debootstrap on first use).
for suite in dune ptrace cgroup2 systemd debian; do
  if wanted "$suite"; then
    if ((!have_kvm)); then skip_suite "$suite" "/dev/kvm missing (DUNE_ALLOW_NO_KVM=1)"
    else run_bats "$suite" "e2e/$suite.bats"; ran+=("$suite"); fi
  fi
done

# Deployment: install.sh with the real containerd and dockerd (their containers are Dune
# processes: KVM), then the installer image built from the Dockerfile (no KVM needed).
if wanted deploy; then
  if ((!have_kvm)); then skip_suite deploy "/dev/kvm missing (DUNE_ALLOW_NO_KVM=1)"
  else run_bats deploy e2e/deploy.bats; ran+=(deploy); fi
fi
if wanted image; then
  run_bats image e2e/image.bats; ran+=(image)
fi

# A pure cgroup v2 host with systemd as PID 1: the QEMU test bed (e2e/vm/: software emulation
# of AMD SVM, no host KVM needed; about 2 min once its root disk is cached).
if wanted vm; then
  run_script_suite vm bash e2e/vm/run.sh; ran+=(vm)
fi
# The same boot's KVM (kvm_amd: nested paging, the common host type) under libdune's own suite,
# a subset of it chosen by name (e2e/vm/tests/libdune-kvm-subset.txt: the whole takes about
# 13 min under emulation; e2e/vm/kvm.sh --all runs it).
if wanted vm-kvm; then
  run_script_suite vm-kvm bash e2e/vm/kvm.sh; ran+=(vm-kvm)
fi
# A second boot without kvm_amd: the Dune kernel module (kmod/) on the emulated SVM, with
# libdune's suite under --backend dune (e2e/vm/kmod.sh; about 4.5 min).
if wanted vm-kmod; then
  run_script_suite vm-kmod bash e2e/vm/kmod.sh; ran+=(vm-kmod)
fi

# ---------------------------------------------------------------- summary
banner "summary (runtime: $DUNE)"
echo "suites run: ${ran[*]:-none}"
printf '%s\n' "${summary[@]}"
((total_skip == 0)) || echo "skipped tests: $total_skip (listed as '# skip' in the logs)"
echo "$total_pass passed, $total_fail failed"
((total_fail == 0 && fatal == 0))
