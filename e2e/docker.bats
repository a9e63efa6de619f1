#!/usr/bin/env bats
# $DUNE as a docker runtime: a private dockerd (docker.io) with "runtimes": {"dune": ...},
# its own data-root, exec-root, pidfile and socket; an image imported from the busybox rootfs.

load lib/helpers
source "$E2E_REPO/e2e/lib/image.sh"

DK_DIR=${E2E_DOCKER_DIR:-/run/dune-e2e/docker}
DK_SOCK=$DK_DIR/docker.sock
DK_DATA=${E2E_DOCKER_DATA:-/var/tmp/dune-e2e-docker}
IMAGE=dune-e2e/busybox:latest
# /usr/local/bin/docker is an unrelated newer client: use Debian's.
DOCKER_CLI=${DOCKER_CLI:-/usr/bin/docker}

docker_() { "$DOCKER_CLI" -H "unix://$DK_SOCK" "$@" 3>&-; }

stop_dockerd() {
  local pid
  [[ -f $DK_DIR/docker.pid ]] || return 0
  pid=$(cat "$DK_DIR/docker.pid")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$DK_DIR/docker.pid"
}

setup_file() {
  e2e_require_env
  [[ -x $DOCKER_CLI ]] && command -v dockerd >/dev/null ||
    { echo "FATAL: docker.io missing (e2e/install-deps.sh)" >&2; return 1; }
  stop_dockerd
  mkdir -p "$DK_DIR" "$DK_DATA"
  jq -n --arg dune "$DUNE" '{runtimes: {dune: {path: $dune}}}' >"$DK_DIR/daemon.json"
  dockerd --config-file "$DK_DIR/daemon.json" --data-root "$DK_DATA" --exec-root "$DK_DIR/exec" \
    --pidfile "$DK_DIR/docker.pid" -H "unix://$DK_SOCK" --iptables=false --ip-masq=false --bridge=none \
    >"$DK_DIR/dockerd.log" 2>&1 </dev/null 3>&- &
  for _ in $(seq 300); do docker_ version >/dev/null 2>&1 && break; sleep 0.1; done
  docker_ version >/dev/null || { tail -n 30 "$DK_DIR/dockerd.log" >&2; return 1; }
  docker_ info --format '{{json .Runtimes}}' | jq -e 'has("dune")' >/dev/null ||
    { echo "dockerd did not register the dune runtime" >&2; return 1; }
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
  ! "$DUNE" --root "$DK_DIR/exec/runtime-dune/moby" state "$full" 2>/dev/null
  [ -z "$(cgroup_dirs "$full")" ]
}

@test "docker: stop escalates to SIGKILL for a process that ignores TERM" {
  drun -d --name "$NAME" "$IMAGE" sleep 1000 >/dev/null
  [ "$(dstate)" = running ]
  docker_ stop -t 1 "$NAME"
  [ "$(dstate)" = exited ]
  [ "$(docker_ inspect -f '{{.State.ExitCode}}' "$NAME")" = 137 ]
}
