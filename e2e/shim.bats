#!/usr/bin/env bats
# containerd-shim-dune-v2, the native shim: a private containerd (Debian's package) with the
# shim on its PATH (runtime io.containerd.dune.v2) and by absolute path; a busybox image
# built here and imported. Checks output, exact exit statuses, exec, stdin, pause/resume,
# kill, delete, the shim's events as `ctr events` sees them, and that nothing is left over.

load lib/helpers
source "$E2E_REPO/e2e/lib/image.sh"

SHIM=${SHIM:-$E2E_REPO/build/bin/containerd-shim-dune-v2}
# containerd finds containerd-shim-dune-v2 for io.containerd.dune.v2 on its PATH (daemons.sh);
# the shim finds dune beside itself.
CD_SHIM_DIR=$(dirname "$SHIM")
CD_NS=dune-shim-e2e
source "$E2E_REPO/e2e/lib/daemons.sh"
CD_DIR=${E2E_SHIM_CONTAINERD_DIR:-/run/dune-e2e/containerd-shim}
CD_SOCK=$CD_DIR/containerd.sock
NS=$CD_NS
IMAGE=localhost/dune-e2e/busybox:latest
RUNTIME=io.containerd.dune.v2
# The shim runs dune with runc's shim convention for --root.
DUNE_ROOT=/run/containerd/runc/$NS

shim_pids() { # [ID]: shims serving this daemon (they carry its socket address in their arguments)
  ps -eo pid=,comm=,args= | awk -v s="$CD_SOCK" -v id="${1:+-id $1 }" \
    '$2 == "containerd-shim" && index($0, "containerd-shim-dune-v2") && index($0, s) && index($0, id) {print $1}'
}

setup_file() {
  e2e_require_env
  [[ -x $SHIM ]] || { echo "FATAL: $SHIM missing (make build)" >&2; return 1; }
  [[ -c /dev/kvm ]] || { echo "FATAL: /dev/kvm missing: the shim's containers run as Dune processes" >&2; return 1; }
  start_containerd "$CD_DIR" || return 1
  make_oci_image_tar "$CD_DIR/busybox-oci.tar"
  ctr_ images import --base-name localhost/dune-e2e/busybox "$CD_DIR/busybox-oci.tar" >&2
  ctr_ images ls -q | grep -qx "$IMAGE" || { echo "image $IMAGE not imported" >&2; return 1; }
}

teardown_file() {
  stop_containerd
}

setup() {
  e2e_require_env
  CID=shim-${BATS_TEST_NUMBER}-$$-$RANDOM
  EVENTS_PID=
  kvm_vm_holders >"$BATS_TEST_TMPDIR/vms-before"
}

teardown() {
  [[ -n $EVENTS_PID ]] && kill "$EVENTS_PID" 2>/dev/null
  remove_task "$CID"
  [[ -z ${BATS_TEST_COMPLETED:-} ]] && tail -n 30 "$CD_DIR/containerd.log" || true
}

# Processes holding a KVM VM (anon_inode:kvm-vm), one pid a line, sorted: Dune processes.
kvm_vm_holders() {
  local p
  for p in /proc/[0-9]*; do
    find "$p/fd" -maxdepth 1 -lname 'anon_inode:kvm-vm' 2>/dev/null | grep -q . && echo "${p#/proc/}"
  done | sort
  return 0
}

# VM holders that were not there when the test began (an orphaned Dune process, say).
new_vm_holders() { comm -13 "$BATS_TEST_TMPDIR/vms-before" <(kvm_vm_holders); }

# Nothing of the task is left: no shim, no socket, no rootfs mount, no dune state, no cgroup,
# no VM that the test started.
assert_cleaned_up() {
  local id=$1
  for _ in $(seq 50); do
    ps -eo args= | grep -F -- "-id $id " | grep -q containerd-shim-dune-v2 || break
    sleep 0.1
  done
  ! ps -eo args= | grep -F -- "-id $id " | grep -q containerd-shim-dune-v2 || false
  ! grep -qF "/$NS/$id/rootfs" /proc/self/mountinfo || false
  ! "$DUNE" --root "$DUNE_ROOT" state "$id" >/dev/null 2>&1 || false
  [ -z "$(cgroup_dirs "$id")" ]
  for _ in $(seq 50); do [ -z "$(new_vm_holders)" ] && break; sleep 0.1; done
  local left
  left=$(new_vm_holders)
  [ -z "$left" ] || { ps -o pid=,args= -p "$(tr '\n' ',' <<<"$left" | sed 's/,$//')" >&2; return 1; }
}

start_events() {
  ctr_ events >"$BATS_TEST_TMPDIR/events" 2>&1 &
  EVENTS_PID=$!
  sleep 0.3
}

# events_of ID: "topic exit_status" lines of the task's events, in the order received.
events_of() {
  grep -F "\"container_id\":\"$1\"" "$BATS_TEST_TMPDIR/events" |
    awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\/tasks\//) { t = $i; j = $(i + 1) } ; print t, j }' |
    while read -r topic json; do
      echo "$topic $(jq -r '(.id // "") + " " + ((.exit_status // 0) | tostring)' <<<"$json")"
    done
}

@test "shim: -v prints the version; -info writes a RuntimeInfo with dune's features" {
  run "$SHIM" -v
  [ "$status" -eq 0 ]
  [[ $output == *"containerd-shim-dune-v2"* && $output == *"Version: "* ]]
  "$SHIM" -info </dev/null >"$BATS_TEST_TMPDIR/info.pb"
  # RuntimeInfo: field 1 (name), field 4 (features Any with the OCI features type URL and JSON).
  grep -qa "io.containerd.dune.v2" "$BATS_TEST_TMPDIR/info.pb"
  grep -qa "types.containerd.io/opencontainers/runtime-spec/1/features/Features" "$BATS_TEST_TMPDIR/info.pb"
  max=$("$DUNE" features | jq -r .ociVersionMax)
  [ -n "$max" ]
  grep -qaF "\"ociVersionMax\"" "$BATS_TEST_TMPDIR/info.pb"
  grep -qaF "$max" "$BATS_TEST_TMPDIR/info.pb"
}

@test "shim: ctr run returns the output and exit status; events in runtime v2 order" {
  start_events
  run ctr_ run --rm --runtime "$RUNTIME" "$IMAGE" "$CID" sh -c 'echo hello from the dune shim; echo to-stderr >&2; exit 3'
  echo "$output"
  [ "$status" -eq 3 ]
  [[ $output == *"hello from the dune shim"* ]]
  [[ $output == *"to-stderr"* ]]
  sleep 0.5
  run events_of "$CID"
  echo "$output"
  [ "${lines[0]}" = "/tasks/create  0" ]
  [ "${lines[1]}" = "/tasks/start  0" ]
  [ "${lines[2]}" = "/tasks/exit $CID 3" ]
  [ "${lines[3]}" = "/tasks/delete  3" ]
  [ "${#lines[@]}" -eq 4 ]
  ! ctr_ container ls -q | grep -qx "$CID" || false
  assert_cleaned_up "$CID"
}

@test "shim: the container's process is a Dune process" {
  # dune mode (the default) runs the program under libdune's dune-run.
  ctr_ run -d --runtime "$RUNTIME" "$IMAGE" "$CID-d" sleep 1000 </dev/null
  pid=$(ctr_ task ls | awk -v id="$CID-d" '$1 == id {print $2}')
  # dune-run runs from a sealed memfd copy of itself (libdune/src/self_image.h).
  [[ $(readlink "/proc/$pid/exe") == "/memfd:dune-run (deleted)" ]]
  ctr_ task kill -s KILL "$CID-d"
  wait_task_status "$CID-d" STOPPED
  ctr_ task rm "$CID-d"
  ctr_ container rm "$CID-d"
  assert_cleaned_up "$CID-d"
}

@test "shim: stdin reaches the process and its end is end-of-file" {
  run ctr_ run --rm --runtime "$RUNTIME" "$IMAGE" "$CID" sh -c 'cat; echo after-eof' <<<"piped line"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ ${lines[0]} == "piped line" ]]
  [[ ${lines[1]} == "after-eof" ]]
}

@test "shim: by absolute path (ctr run --runtime /abs/containerd-shim-dune-v2)" {
  run ctr_ run --rm --runtime "$SHIM" "$IMAGE" "$CID" sh -c 'echo by path; exit 7'
  echo "$output"
  [ "$status" -eq 7 ]
  [[ $output == *"by path"* ]]
  assert_cleaned_up "$CID"
}

@test "shim: detached task through exec, ps, pause/resume, kill, rm, with events" {
  start_events
  ctr_ run -d --runtime "$RUNTIME" "$IMAGE" "$CID" sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done' </dev/null
  wait_task_status "$CID" RUNNING
  "$DUNE" --root "$DUNE_ROOT" state "$CID" | jq -e '.status == "running"'
  pid=$(ctr_ task ls | awk -v id="$CID" '$1 == id {print $2}')
  [ "$pid" -gt 0 ]

  run ctr_ task exec --exec-id e1 "$CID" sh -c 'echo exec-out; exit 4'
  [ "$status" -eq 4 ]
  [[ $output == *exec-out* ]]
  # An exec'd process killed by a signal: 128 + the signal, exactly.
  run ctr_ task exec --exec-id e2 "$CID" sh -c 'kill -TERM $$'
  [ "$status" -eq 143 ]
  run ctr_ task exec --exec-id e3 "$CID" sh -c 'read x; echo "exec got $x"' <<<"hi"
  [ "$status" -eq 0 ]
  [[ $output == *"exec got hi"* ]]

  ctr_ task exec -d --exec-id e4 "$CID" sleep 1000 </dev/null
  run ctr_ task ps "$CID"
  echo "$output"
  [ "$status" -eq 0 ]
  printf '%s\n' "${lines[@]:1}" | awk '{print $1}' | grep -qx "$pid"
  [ "${#lines[@]}" -ge 3 ]

  ctr_ task pause "$CID"
  wait_task_status "$CID" PAUSED
  "$DUNE" --root "$DUNE_ROOT" state "$CID" | jq -e '.status == "paused"'
  ctr_ task resume "$CID"
  wait_task_status "$CID" RUNNING
  "$DUNE" --root "$DUNE_ROOT" state "$CID" | jq -e '.status == "running"'

  ctr_ task kill "$CID"
  wait_task_status "$CID" STOPPED
  ctr_ task rm "$CID"
  ! ctr_ task ls -q | grep -qx "$CID" || false
  ctr_ container rm "$CID"
  assert_cleaned_up "$CID"

  sleep 0.5
  run events_of "$CID"
  echo "$output"
  expected=(
    "/tasks/create  0" "/tasks/start  0"
    "/tasks/exec-added  0" "/tasks/exec-started  0" "/tasks/exit e1 4"
    "/tasks/exec-added  0" "/tasks/exec-started  0" "/tasks/exit e2 143"
    "/tasks/exec-added  0" "/tasks/exec-started  0" "/tasks/exit e3 0"
    "/tasks/exec-added  0" "/tasks/exec-started  0"
    "/tasks/paused  0" "/tasks/resumed  0"
  )
  for i in "${!expected[@]}"; do
    [ "${lines[$i]}" = "${expected[$i]}" ] || { echo "event $i: '${lines[$i]}', expected '${expected[$i]}'"; false; }
  done
  # Then the two exits (the init's and e4's, in either order), then the delete.
  rest=$(printf '%s\n' "${lines[@]:${#expected[@]}}")
  [ "$(echo "$rest" | wc -l)" -eq 3 ]
  echo "$rest" | grep -qx "/tasks/exit $CID 0"
  echo "$rest" | grep -qx "/tasks/exit e4 137"
  [ "$(echo "$rest" | tail -n1)" = "/tasks/delete  0" ]
}

@test "shim: SIGKILL of a task that ignores TERM; Wait reports 137" {
  ctr_ run -d --runtime "$RUNTIME" "$IMAGE" "$CID" sh -c 'trap "" TERM; sleep 1000' </dev/null
  wait_task_status "$CID" RUNNING
  ctr_ task kill -s TERM "$CID"
  sleep 0.5
  [ "$(task_status "$CID")" = RUNNING ]
  ctr_ task kill -s KILL "$CID"
  wait_task_status "$CID" STOPPED
  run ctr_ task delete "$CID"
  echo "$output"
  [ "$status" -eq 0 ]
  # ctr reports the exit status that the shim's Delete returned.
  [[ $output == *"exit code 137"* ]]
  ctr_ container rm "$CID"
  assert_cleaned_up "$CID"
}

@test "shim: a failing create reports dune's error and leaves nothing" {
  run ctr_ run --rm --runtime "$RUNTIME" "$IMAGE" "$CID" /no/such/program
  echo "$output"
  [ "$status" -ne 0 ]
  [[ $output == *"/no/such/program"* ]]
  ! ctr_ task ls -q | grep -qx "$CID" || false
  assert_cleaned_up "$CID"
}

@test "shim: checkpoint is refused with a clear message" {
  ctr_ run -d --runtime "$RUNTIME" "$IMAGE" "$CID" sleep 1000 </dev/null
  wait_task_status "$CID" RUNNING
  run ctr_ task checkpoint "$CID"
  echo "$output"
  [ "$status" -ne 0 ]
  [[ $output == *"checkpoint is not supported"* ]]
}

@test "shim: ctr task metrics reports the container's cgroup (pids, memory, cpu)" {
  ctr_ run -d --runtime "$RUNTIME" "$IMAGE" "$CID" sh -c 'sleep 1000 & sleep 1000' </dev/null
  wait_task_status "$CID" RUNNING
  # Wait until sh has started both sleeps and the count holds still.
  cg=$(find /sys/fs/cgroup/pids/ -type d -name "$CID" | head -n1)
  [ -n "$cg" ]
  for _ in $(seq 50); do
    n=$(cat "$cg/pids.current"); sleep 0.3
    ((n >= 3)) && [ "$(cat "$cg/pids.current")" = "$n" ] && break
  done
  run ctr_ task metrics --format json "$CID"
  echo "$output"
  [ "$status" -eq 0 ]
  # The same count as the container's pids cgroup (sh, two sleeps, and their Dune threads).
  [ "$(jq -r '.pids.current' <<<"$output")" -eq "$(cat "$cg/pids.current")" ]
  [ "$(jq -r '.pids.current' <<<"$output")" -ge 3 ]
  [ "$(jq -r '.memory.usage.usage' <<<"$output")" -gt 0 ]
  [ "$(jq -r '.cpu.usage.total' <<<"$output")" -gt 0 ]
}

# in_tty CMD: runs CMD (a shell string) with a terminal as its stdin/stdout (ctr -t needs one).
in_tty() { script -qec "$1" /dev/null </dev/null 3>&-; }

@test "shim: ctr run -t gets a terminal of the client's size; exit status passes through" {
  run in_tty "stty cols 101 rows 41; ctr --address $CD_SOCK --namespace $NS run -t --rm --runtime $RUNTIME $IMAGE $CID sh -c 'tty; stty size; exit 6'"
  echo "$output"
  [ "$status" -eq 6 ]
  [[ $output == *"/dev/pts/0"* ]]
  [[ $output == *"41 101"* ]]
  assert_cleaned_up "$CID"
}

@test "shim: ctr task exec -t gets its own terminal" {
  ctr_ run -d --runtime "$RUNTIME" "$IMAGE" "$CID" sleep 1000 </dev/null
  wait_task_status "$CID" RUNNING
  run in_tty "ctr --address $CD_SOCK --namespace $NS task exec -t --exec-id t1 $CID sh -c 'tty; echo exec-on-tty; exit 2'"
  echo "$output"
  [ "$status" -eq 2 ]
  [[ $output == *"/dev/pts/"* ]]
  [[ $output == *"exec-on-tty"* ]]
}

@test "shim: killing the task's process from the host: exit 137 reaches containerd, nothing left" {
  start_events
  ctr_ run -d --runtime "$RUNTIME" "$IMAGE" "$CID" sleep 1000 </dev/null
  wait_task_status "$CID" RUNNING
  pid=$(ctr_ task ls | awk -v id="$CID" '$1 == id {print $2}')
  # dune-run runs from a sealed memfd copy of itself (libdune/src/self_image.h).
  [[ $(readlink "/proc/$pid/exe") == "/memfd:dune-run (deleted)" ]]
  # The test sees the VM it is about to orphan if the shim mishandles the kill.
  [ -n "$(new_vm_holders)" ]
  shim=$(shim_pids "$CID")
  kill -KILL "$pid"
  wait_task_status "$CID" STOPPED
  # The shim survives its task and still answers.
  kill -0 "$shim"
  run ctr_ task delete "$CID"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ $output == *"exit code 137"* ]]
  ctr_ container rm "$CID"
  assert_cleaned_up "$CID"
  sleep 0.3
  run events_of "$CID"
  echo "$output"
  [ "${lines[0]}" = "/tasks/create  0" ]
  [ "${lines[1]}" = "/tasks/start  0" ]
  [ "${lines[2]}" = "/tasks/exit $CID 137" ]
  [ "${lines[3]}" = "/tasks/delete  137" ]
}

@test "shim: killing the shim leaves containerd consistent and nothing behind (shim delete)" {
  ctr_ run -d --runtime "$RUNTIME" "$IMAGE" "$CID" sleep 1000 </dev/null
  wait_task_status "$CID" RUNNING
  pid=$(ctr_ task ls | awk -v id="$CID" '$1 == id {print $2}')
  shim=$(shim_pids "$CID")
  [ -n "$shim" ] && [ "$(wc -w <<<"$shim")" -eq 1 ]
  socket=$(ctr_ containers info "$CID" >/dev/null && sed 's|^unix://||' "$CD_DIR/state/io.containerd.runtime.v2.task/$NS/$CID/address")
  [ -S "$socket" ]
  kill -KILL "$shim"
  # containerd notices, runs `containerd-shim-dune-v2 ... delete` and forgets the task.
  for _ in $(seq 50); do ctr_ task ls -q | grep -qx "$CID" || break; sleep 0.1; done
  ! ctr_ task ls -q | grep -qx "$CID" || false
  wait_gone "$pid"
  assert_cleaned_up "$CID"
  # The dead shim's socket went with the cleanup.
  [ ! -e "$socket" ]
  ctr_ container rm "$CID"
}

@test "shim: containerd restarts, finds the running task through the shim, events still flow" {
  ctr_ run -d --runtime "$RUNTIME" "$IMAGE" "$CID" sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done' </dev/null
  wait_task_status "$CID" RUNNING
  pid=$(ctr_ task ls | awk -v id="$CID" '$1 == id {print $2}')
  shim=$(shim_pids "$CID")
  cd_pid=$(cat "$CD_DIR/containerd.pid")
  kill "$cd_pid"
  for _ in $(seq 100); do kill -0 "$cd_pid" 2>/dev/null || break; sleep 0.1; done
  wait_gone "$cd_pid"
  start_containerd_with "$CD_DIR" "$CD_DIR/config.toml"
  # Same shim, same process, same state.
  [ "$(shim_pids "$CID")" = "$shim" ]
  wait_task_status "$CID" RUNNING
  [ "$(ctr_ task ls | awk -v id="$CID" '$1 == id {print $2}')" = "$pid" ]
  start_events
  run ctr_ task exec --exec-id after "$CID" sh -c 'echo after restart; exit 5'
  [ "$status" -eq 5 ]
  [[ $output == *"after restart"* ]]
  ctr_ task kill "$CID"
  wait_task_status "$CID" STOPPED
  ctr_ task rm "$CID"
  ctr_ container rm "$CID"
  assert_cleaned_up "$CID"
  sleep 0.5
  run events_of "$CID"
  echo "$output"
  [ "${lines[0]}" = "/tasks/exec-added  0" ]
  [ "${lines[1]}" = "/tasks/exec-started  0" ]
  [ "${lines[2]}" = "/tasks/exit after 5" ]
  [ "${lines[3]}" = "/tasks/exit $CID 0" ]
  [ "${lines[4]}" = "/tasks/delete  0" ]
}

@test "shim: an OOM kill in the task's memory cgroup is published as /tasks/oom" {
  [[ -d /sys/fs/cgroup/memory ]] || { echo "FATAL: this test needs the cgroup v1 memory controller" >&2; false; }
  start_events
  run ctr_ run --rm --memory-limit 33554432 --runtime "$RUNTIME" "$IMAGE" "$CID" sh -c 'echo filling; tail /dev/zero'
  echo "$output"
  [ "$status" -eq 137 ]
  sleep 0.5
  run events_of "$CID"
  echo "$output"
  printf '%s\n' "${lines[@]}" | grep -qx "/tasks/oom  0"
  printf '%s\n' "${lines[@]}" | grep -qx "/tasks/exit $CID 137"
  [ "${lines[0]}" = "/tasks/create  0" ]
  [ "${lines[1]}" = "/tasks/start  0" ]
  [ "${lines[-1]}" = "/tasks/delete  137" ]
  assert_cleaned_up "$CID"
}

@test "shim: a pod's containers (same sandbox id annotation) share one shim" {
  ctr_ run -d --annotation io.kubernetes.cri.sandbox-id="$CID-pod" --runtime "$RUNTIME" "$IMAGE" "$CID" sleep 1000 </dev/null
  ctr_ run -d --annotation io.kubernetes.cri.sandbox-id="$CID-pod" --runtime "$RUNTIME" "$IMAGE" "$CID-b" sleep 1000 </dev/null
  wait_task_status "$CID" RUNNING
  wait_task_status "$CID-b" RUNNING
  shim=$(shim_pids "$CID")
  [ "$(wc -w <<<"$shim")" -eq 1 ]
  [ -z "$(shim_pids "$CID-b")" ]
  # Both tasks are the shim's children (it is their subreaper).
  for t in "$CID" "$CID-b"; do
    p=$(ctr_ task ls | awk -v id="$t" '$1 == id {print $2}')
    [ "$(ps -o ppid= -p "$p" | tr -d ' ')" = "$shim" ]
  done
  run ctr_ task exec --exec-id x "$CID-b" sh -c 'echo in b; exit 9'
  [ "$status" -eq 9 ]
  [[ $output == *"in b"* ]]
  # Removing one container keeps the shim for the other; removing both ends it.
  ctr_ task kill -s KILL "$CID"
  wait_task_status "$CID" STOPPED
  ctr_ task rm "$CID"
  ctr_ container rm "$CID"
  kill -0 "$shim"
  wait_task_status "$CID-b" RUNNING
  ctr_ task kill -s KILL "$CID-b"
  wait_task_status "$CID-b" STOPPED
  ctr_ task rm "$CID-b"
  ctr_ container rm "$CID-b"
  for _ in $(seq 50); do kill -0 "$shim" 2>/dev/null || break; sleep 0.1; done
  wait_gone "$shim"
  assert_cleaned_up "$CID"
  assert_cleaned_up "$CID-b"
}
