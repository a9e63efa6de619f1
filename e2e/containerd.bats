#!/usr/bin/env bats
# $DUNE as containerd's runtime binary: a private containerd (Debian's package) on its own
# socket, root and state; a busybox image built here and imported; `ctr run --runc-binary`.

load lib/helpers
source "$E2E_REPO/e2e/lib/image.sh"
source "$E2E_REPO/e2e/lib/daemons.sh"

# Top level, not in setup_file: the tests need them too.
CD_DIR=${E2E_CONTAINERD_DIR:-/run/dune-e2e/containerd}
CD_SOCK=$CD_DIR/containerd.sock
CD_NS=dune-e2e
NS=$CD_NS
IMAGE=localhost/dune-e2e/busybox:latest

# The shim calls the runtime with --root; a private one shows the runtime's own state.
RUNC_ROOT=$CD_DIR/runc-root
run_flags() { echo --runc-binary "$DUNE" --runc-root "$RUNC_ROOT"; }

setup_file() {
  e2e_require_env
  start_containerd "$CD_DIR"
  make_oci_image_tar "$CD_DIR/busybox-oci.tar"
  ctr_ images import --base-name localhost/dune-e2e/busybox "$CD_DIR/busybox-oci.tar" >&2
  ctr_ images ls -q | grep -qx "$IMAGE" || { echo "image $IMAGE not imported" >&2; ctr_ images ls >&2; return 1; }
}

teardown_file() {
  stop_containerd
}

setup() {
  e2e_require_env
  CID=ctr-${BATS_TEST_NUMBER}-$$-$RANDOM
}

teardown() {
  remove_task "$CID"
  # Dump the daemon's view when a test failed.
  [[ -z ${BATS_TEST_COMPLETED:-} ]] && tail -n 20 "$CD_DIR/containerd.log" || true
}

@test "containerd: ctr run returns the process's output and exit status" {
  # shellcheck disable=SC2046
  run ctr_ run --rm $(run_flags) "$IMAGE" "$CID" sh -c 'echo hello from ctr; exit 3'
  echo "$output"
  [ "$status" -eq 3 ]
  [[ $output == *"hello from ctr"* ]]
  # shellcheck disable=SC2046
  run ctr_ run --rm $(run_flags) "$IMAGE" "$CID" true
  [ "$status" -eq 0 ]
  ! ctr_ container ls -q | grep -qx "$CID" || false
}

@test "containerd: detached task through exec, ps, pause/resume, kill, rm" {
  # shellcheck disable=SC2046
  ctr_ run -d $(run_flags) "$IMAGE" "$CID" sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done' </dev/null
  wait_task_status "$CID" RUNNING
  # The task is managed by $DUNE: its state is under the root the shim passed to it.
  "$DUNE" --root "$RUNC_ROOT/$NS" state "$CID" | jq -e '.status == "running"'
  pid=$(ctr_ task ls | awk -v id="$CID" '$1 == id {print $2}')
  [ "$pid" -gt 0 ]

  run ctr_ task exec --exec-id e1 "$CID" sh -c 'echo exec-out; exit 4'
  [ "$status" -eq 4 ]
  [[ $output == *exec-out* ]]

  ctr_ task exec -d --exec-id e2 "$CID" sleep 1000 </dev/null
  run ctr_ task ps "$CID"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ ${lines[0]} =~ PID ]]
  printf '%s\n' "${lines[@]:1}" | awk '{print $1}' | grep -qx "$pid"
  [ "${#lines[@]}" -ge 3 ]

  ctr_ task pause "$CID"
  wait_task_status "$CID" PAUSED
  "$DUNE" --root "$RUNC_ROOT/$NS" state "$CID" | jq -e '.status == "paused"'
  ctr_ task resume "$CID"
  wait_task_status "$CID" RUNNING

  ctr_ task kill "$CID"
  wait_task_status "$CID" STOPPED
  ctr_ task rm "$CID"
  ! ctr_ task ls -q | grep -qx "$CID" || false
  ctr_ container rm "$CID"
  ! "$DUNE" --root "$RUNC_ROOT/$NS" state "$CID" 2>/dev/null || false
  [ -z "$(cgroup_dirs "$CID")" ]
}

@test "containerd: kill with SIGKILL of a task that ignores TERM" {
  # shellcheck disable=SC2046
  ctr_ run -d $(run_flags) "$IMAGE" "$CID" sleep 1000 </dev/null
  wait_task_status "$CID" RUNNING
  ctr_ task kill -s SIGKILL "$CID"
  wait_task_status "$CID" STOPPED
  ctr_ task rm "$CID"
  ctr_ container rm "$CID"
}
