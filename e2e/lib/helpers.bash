# Shared setup for the bats suites. Each test gets its own --root, bundle dir, log file and
# container id, and teardown force-deletes whatever the test left in its --root.
bats_require_minimum_version 1.5.0

E2E_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export E2E_REPO
DUNE=${DUNE:-$E2E_REPO/build/bin/dune}
[[ $DUNE == */* ]] || DUNE=$(command -v "$DUNE" || echo "$DUNE")
export DUNE
# shellcheck source=bundle.sh
source "$E2E_REPO/e2e/lib/bundle.sh"
# Bundles live below a world-traversable dir so that a container root mapped to another
# uid (user namespace test) can still reach its rootfs.
E2E_TMP=${E2E_TMP:-/var/tmp/dune-e2e}
RECVTTY=$E2E_REPO/build/e2e/recvtty
SECCOMP_AGENT=$E2E_REPO/build/e2e/seccomp-agent

# Which runtime's error wording errors.bats expects: "dune" (the default: the messages dune
# promises) or "runc" (only to validate the harness against the reference runtime).
E2E_WORDING=${E2E_WORDING:-dune}

e2e_require_env() {
  if [[ $(id -u) != 0 ]]; then
    echo "FATAL: the e2e suites must run as root (namespaces, cgroups, mounts)" >&2
    return 1
  fi
  if [[ ! -x $DUNE ]]; then
    echo "FATAL: runtime binary $DUNE is missing (make build, or set DUNE=)" >&2
    return 1
  fi
}

build_recvtty() {
  if [[ ! -x $RECVTTY || $E2E_REPO/e2e/tools/recvtty.c -nt $RECVTTY ]]; then
    mkdir -p "$(dirname "$RECVTTY")"
    gcc -O2 -Wall -Wextra -Werror -o "$RECVTTY.tmp.$$" "$E2E_REPO/e2e/tools/recvtty.c" &&
      mv "$RECVTTY.tmp.$$" "$RECVTTY"
  fi
}

build_seccomp_agent() {
  if [[ ! -x $SECCOMP_AGENT || $E2E_REPO/e2e/tools/seccomp-agent.c -nt $SECCOMP_AGENT ]]; then
    mkdir -p "$(dirname "$SECCOMP_AGENT")"
    gcc -O2 -Wall -Wextra -Werror -o "$SECCOMP_AGENT.tmp.$$" "$E2E_REPO/e2e/tools/seccomp-agent.c" &&
      mv "$SECCOMP_AGENT.tmp.$$" "$SECCOMP_AGENT"
  fi
}

# start_seccomp_agent: e2e/tools/seccomp-agent on $T/agent.sock, writing $T/agent/{states,calls,errors};
# its pid in $AGENT_PID (also killed at teardown).
start_seccomp_agent() {
  mkdir -p "$T/agent"
  "$SECCOMP_AGENT" "$T/agent.sock" "$T/agent" 3>&- &
  AGENT_PID=$!
  BG_PIDS+=("$AGENT_PID")
  local n=200
  while ((n-- > 0)); do
    [[ -S $T/agent.sock ]] && return 0
    sleep 0.05
  done
  echo "seccomp-agent did not start" >&2
  return 1
}

# notify_seccomp NAMES-JSON-ARRAY: a linux.seccomp for $B that allows everything and sends the
# named calls to the agent on $T/agent.sock, with listenerMetadata "bar" (as runc's tests).
notify_seccomp() {
  bundle_jq "$B" --arg p "$T/agent.sock" --argjson n "$1" '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
      listenerPath: $p, listenerMetadata: "bar", architectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_X86_64"],
      syscalls: [{names: $n, action: "SCMP_ACT_NOTIFY"}]}'
}

common_setup() {
  e2e_require_env || return 1
  mkdir -p "$E2E_TMP"
  chmod 755 "$E2E_TMP"
  T=$(mktemp -d "$E2E_TMP/t.XXXXXX")
  chmod 755 "$T"
  ROOT=$T/root
  LOG=$T/log.json
  B=$T/bundle
  ID=e2e-${BATS_TEST_NUMBER}-$$-$RANDOM
  BG_PIDS=()
}

# R ARGS...: the runtime with this test's --root and a JSON log. fd 3 (bats' own) is
# closed so that a container that outlives the command cannot hold the test open.
R() {
  "$DUNE" --root "$ROOT" --log "$LOG" --log-format json "$@" 3>&-
}

common_teardown() {
  local id p
  [[ -n ${T:-} ]] || return 0
  if [[ -d $ROOT ]]; then
    for id in $(R list -q 2>/dev/null); do
      R delete --force "$id" >/dev/null 2>&1 || echo "teardown: delete --force $id failed" >&2
    done
  fi
  for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  reap_leaked_cgroups
  # Never rm -rf through a mount that leaked into this namespace.
  if grep -qF " $T" /proc/self/mountinfo; then
    echo "teardown: mounts under $T left in the host namespace:" >&2
    grep -F " $T" /proc/self/mountinfo >&2
    awk -v t="$T" 'index($5, t) == 1 {print $5}' /proc/self/mountinfo | sort -r |
      while read -r m; do umount -l "$m" || true; done
  fi
  rm -rf "$T"
}

# Safety net after a runtime leaked a container: end the processes left in this test's
# cgroups (named after $ID) by pid, then remove the cgroups, so later tests start clean.
reap_leaked_cgroups() {
  local dirs d p
  dirs=$(find /sys/fs/cgroup/ -depth -type d -name "${ID}*" 2>/dev/null || true)
  [[ -n $dirs ]] || return 0
  echo "teardown: cgroups left by the runtime, cleaning up: $dirs" >&2
  for d in $dirs; do
    for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
  done
  sleep 0.2
  for d in $dirs; do rmdir "$d" 2>/dev/null || true; done
}

# in_ctr ARGS...: a one-shot container from $B running ARGS (`R run`); its output in $output,
# $stderr, $status, echoed so that a failing test shows it.
in_ctr() {
  bundle_set_args "$B" "$@"
  run --separate-stderr R run --bundle "$B" "$ID" </dev/null
  echo "run $*: status $status"
  echo "stdout: $output"
  echo "stderr: $stderr"
}

# create_ctr ID [CREATE-FLAGS...]: create from $B; container stdio goes to $T/ID.out/.err.
create_ctr() {
  local id=$1 rc=0; shift
  R create --bundle "$B" "$@" "$id" </dev/null >"$T/$id.out" 2>"$T/$id.err" || rc=$?
  if ((rc != 0)); then
    echo "create $id exited with $rc; its stderr:" >&2
    cat "$T/$id.err" >&2
  fi
  return "$rc"
}

status_of() { R state "$1" | jq -r .status; }
pid_of() { R state "$1" | jq -r .pid; }

# wait_status ID STATUS [SECONDS]
wait_status() {
  local id=$1 want=$2 n=$(( ${3:-10} * 20 )) s=
  while ((n-- > 0)); do
    s=$(status_of "$id" 2>/dev/null) || s=
    [[ $s == "$want" ]] && return 0
    sleep 0.05
  done
  echo "container $id: status '$s', expected '$want'" >&2
  return 1
}

# wait_file PATH [SECONDS]: until PATH exists and is not empty.
wait_file() {
  local n=$(( ${2:-10} * 20 ))
  while ((n-- > 0)); do
    [[ -s $1 ]] && return 0
    sleep 0.05
  done
  echo "timed out waiting for $1" >&2
  return 1
}

# wait_lines PATH N [SECONDS]: until PATH has at least N lines.
wait_lines() {
  local n=$(( ${3:-10} * 20 ))
  while ((n-- > 0)); do
    [[ -f $1 && $(wc -l <"$1") -ge $2 ]] && return 0
    sleep 0.05
  done
  echo "timed out waiting for $2 lines in $1" >&2
  return 1
}

# wait_gone PID [SECONDS]: until PID has exited (a zombie awaiting its reaper counts as gone).
wait_gone() {
  local n=$(( ${2:-10} * 20 )) st
  while ((n-- > 0)); do
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0
    [[ -z $st || $st == Z ]] && return 0
    sleep 0.05
  done
  echo "process $1 still alive" >&2
  return 1
}

# cgroup_dirs ID: the cgroup directories named ID on any hierarchy.
cgroup_dirs() {
  find /sys/fs/cgroup/ -type d -name "$1" 2>/dev/null
}

# assert_nothing_left ID BUNDLE [MARKER]: no state, mount, cgroup or process remains.
assert_nothing_left() {
  local id=$1 bundle=$2 marker=${3:-} bad=0 left
  left=$(find "$ROOT" -mindepth 1 -name "*$id*" 2>/dev/null || true)
  if [[ -n $left ]]; then echo "state left under --root: $left" >&2; bad=1; fi
  if [[ -d $ROOT ]] && "$DUNE" --root "$ROOT" state "$id" >/dev/null 2>&1; then
    echo "'state $id' still succeeds" >&2; bad=1
  fi
  left=$(grep -F -e "$bundle" -e "$id" /proc/self/mountinfo || true)
  if [[ -n $left ]]; then echo "mounts left: $left" >&2; bad=1; fi
  left=$(cgroup_dirs "$id" || true)
  if [[ -n $left ]]; then echo "cgroups left: $left" >&2; bad=1; fi
  if [[ -n $marker ]]; then
    left=$(ps -eo pid=,args= | grep -F -- "$marker" | grep -v grep || true)
    if [[ -n $left ]]; then echo "processes left: $left" >&2; bad=1; fi
  fi
  return "$bad"
}
