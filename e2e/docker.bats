#!/usr/bin/env bats
# $DUNE as a docker runtime: a private dockerd (docker.io) with "runtimes": {"dune": ...},
# its own data-root, exec-root, pidfile and socket; an image imported from the busybox rootfs.

load lib/helpers
source "$E2E_REPO/e2e/lib/image.sh"
source "$E2E_REPO/e2e/lib/daemons.sh"

# Top level, not in setup_file: the tests need them too.
DK_DIR=${E2E_DOCKER_DIR:-/run/dune-e2e/docker}
DK_SOCK=$DK_DIR/docker.sock
DK_DATA=${E2E_DOCKER_DATA:-/var/tmp/dune-e2e-docker}
IMAGE=dune-e2e/busybox:latest

setup_file() {
  e2e_require_env
  start_dockerd "$DK_DIR" "$DK_DATA"
  make_rootfs_tar "$DK_DIR/rootfs.tar"
  docker_ import --change 'CMD ["sh"]' "$DK_DIR/rootfs.tar" "$IMAGE" >/dev/null
}

teardown_file() {
  stop_dockerd
}

setup() {
  e2e_require_env
  NAME=dk-${BATS_TEST_NUMBER}-$$-$RANDOM
}

teardown() {
  docker_ rm -f "$NAME" >/dev/null 2>&1 || true
  [[ -z ${BATS_TEST_COMPLETED:-} ]] && tail -n 20 "$DK_DIR/dockerd.log" || true
}

drun() { docker_ run --runtime=dune --network none "$@"; }
dstate() { docker_ inspect -f '{{.State.Status}}' "$NAME"; }

@test "docker: run --runtime=dune returns output and exit status" {
  run drun --rm "$IMAGE" sh -c 'echo hello from docker; exit 5'
  echo "$output"
  [ "$status" -eq 5 ]
  [[ $output == *"hello from docker"* ]]
  run drun --rm "$IMAGE" true
  [ "$status" -eq 0 ]
}

@test "docker: detached container through exec, top, pause, update, logs, stop" {
  drun -d --name "$NAME" "$IMAGE" sh -c 'trap "exit 0" TERM; echo started; while :; do sleep 0.1; done' >/dev/null
  [ "$(docker_ inspect -f '{{.HostConfig.Runtime}}' "$NAME")" = dune ]
  [ "$(dstate)" = running ]
  full=$(docker_ inspect -f '{{.Id}}' "$NAME")
  # Managed by $DUNE: its state lives under the root dockerd gave the runtime.
  "$DUNE" --root "$DK_DIR/exec/runtime-dune/moby" state "$full" | jq -e '.status == "running"'

  run docker_ exec "$NAME" sh -c 'echo exec-out; exit 6'
  [ "$status" -eq 6 ]
  [ "$output" = exec-out ]

  run docker_ top "$NAME"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ ${lines[0]} =~ PID ]]
  [[ $output == *"while :"* ]]

  docker_ pause "$NAME"
  [ "$(dstate)" = paused ]
  "$DUNE" --root "$DK_DIR/exec/runtime-dune/moby" state "$full" | jq -e '.status == "paused"'
  docker_ unpause "$NAME"
  [ "$(dstate)" = running ]

  docker_ update --memory 64m --memory-swap 128m "$NAME"
  [ "$(cat "/sys/fs/cgroup/memory/docker/$full/memory.limit_in_bytes")" = 67108864 ]

  run docker_ logs "$NAME"
  [ "$output" = started ]

  docker_ stop -t 10 "$NAME"
  [ "$(dstate)" = exited ]
  [ "$(docker_ inspect -f '{{.State.ExitCode}}' "$NAME")" = 0 ]
  docker_ rm "$NAME"
  ! "$DUNE" --root "$DK_DIR/exec/runtime-dune/moby" state "$full" 2>/dev/null || false
  [ -z "$(cgroup_dirs "$full")" ]
}

@test "docker: stop escalates to SIGKILL for a process that ignores TERM" {
  drun -d --name "$NAME" "$IMAGE" sleep 1000 >/dev/null
  [ "$(dstate)" = running ]
  docker_ stop -t 1 "$NAME"
  [ "$(dstate)" = exited ]
  [ "$(docker_ inspect -f '{{.State.ExitCode}}' "$NAME")" = 137 ]
}
