#!/usr/bin/env bats
# A Debian bookworm image built here with debootstrap (e2e/lib/debian.sh, cached under
# build/e2e/debian), run in Dune mode through `dune run`, `ctr run --runc-binary $DUNE` (private
# containerd) and `docker run --runtime=dune` (private dockerd). Needs root, /dev/kvm, and on
# the first run the Debian mirror apt uses.

load lib/helpers
load lib/dune
source "$E2E_REPO/e2e/lib/debian.sh"
source "$E2E_REPO/e2e/lib/daemons.sh"

CD_IMAGE=localhost/dune-e2e/debian:latest
DK_IMAGE=dune-e2e/debian:latest
CD_BASE=${E2E_DEBIAN_CONTAINERD_DIR:-/run/dune-e2e/containerd-debian}
DK_BASE=${E2E_DEBIAN_DOCKER_DIR:-/run/dune-e2e/docker-debian}
DK_DATA=${E2E_DEBIAN_DOCKER_DATA:-/var/tmp/dune-e2e-docker-debian}

setup_file() {
  e2e_require_env
  debian_build
  echo "# debootstrap of the cached image took $(cat "$E2E_DEBIAN/seconds") s" >&3
}

teardown_file() {
  CD_DIR=$CD_BASE CD_SOCK=$CD_BASE/containerd.sock stop_containerd
  DK_DIR=$DK_BASE stop_dockerd
}

setup() {
  common_setup
  require_kvm
  mkdir -p "$B"
  make_debian_rootfs "$B/rootfs"
  R spec --bundle "$B"
  bundle_jq "$B" '.process.terminal = false | .root.readonly = false'
  CD_DIR=$CD_BASE CD_SOCK=$CD_BASE/containerd.sock
  DK_DIR=$DK_BASE DK_SOCK=$DK_BASE/docker.sock
  CID=deb-${BATS_TEST_NUMBER}-$$-$RANDOM
}

teardown() {
  if [[ -n ${CD_DIR:-} && -f $CD_DIR/containerd.pid ]]; then
    remove_task "$CID"
  fi
  if [[ -n ${DK_DIR:-} && -f $DK_DIR/docker.pid ]]; then
    docker_ rm -f "$CID" >/dev/null 2>&1 || true
  fi
  common_teardown
}

# The daemons start on first use (the dune-run tests need neither).
need_containerd() {
  if [[ ! -f $CD_DIR/containerd.pid ]] || ! ctr_ version >/dev/null 2>&1; then
    start_containerd "$CD_BASE"
  fi
  if ! ctr_ images ls -q | grep -qx "$CD_IMAGE"; then
    ctr_ images import --base-name localhost/dune-e2e/debian "$E2E_DEBIAN/oci.tar" >&2
    ctr_ images ls -q | grep -qx "$CD_IMAGE" || { echo "image $CD_IMAGE not imported" >&2; ctr_ images ls >&2; return 1; }
  fi
}

need_dockerd() {
  if [[ ! -f $DK_DIR/docker.pid ]] || ! docker_ version >/dev/null 2>&1; then
    start_dockerd "$DK_BASE" "$DK_DATA"
  fi
  if ! docker_ image inspect "$DK_IMAGE" >/dev/null 2>&1; then
    docker_ import --change 'CMD ["bash"]' \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      "$E2E_DEBIAN/rootfs.tar" "$DK_IMAGE" >/dev/null
  fi
}

# The python3 one-liner of the checklist.
PY_JSON='import json,sys; print(json.dumps({"ok": True}))'

# ---------------------------------------------------------------- dune run

@test "debian via dune run: apt --version and python3 -c, as Dune processes" {
  in_ctr apt --version
  [ "$status" -eq 0 ]
  [[ ${lines[0]} =~ ^apt\ 2\.[0-9]+\.[0-9]+\ \(amd64\)$ ]]
  in_ctr python3 -c "$PY_JSON"
  [ "$status" -eq 0 ]
  [ "$output" = '{"ok": true}' ]
  in_ctr python3 -c 'import sys; sys.exit(7)'
  [ "$status" -eq 7 ]
  in_ctr bash -c 'python3 -c "import os; os.kill(os.getpid(), 9)"; echo "python $?"'
  [ "$output" = "python 137" ]
  # The same interpreter running detached: a Dune process with counters.
  bundle_set_args "$B" python3 -c 'import time; print("up", flush=True); time.sleep(1000)'
  create_ctr "$ID"
  R start "$ID"
  wait_file "$T/$ID.out"
  is_dune_process "$(pid_of "$ID")"
  dune_counters "$ID" | jq -e '.exits > 0 and .vcpus > 0 and .syscalls_forwarded > 0'
}

# ps_view MODE: runs a script as the init of a container in MODE (dune or native) that starts
# sleep, a perl process that retitles itself ($0) and python3; prints what procps sees from an
# exec'd process: ps's command lines (sorted, ps itself left out), pgrep -f and pidof hits,
# and the init's exact /proc/1/cmdline. Dune processes must show the same as native ones.
ps_view() {
  local id=$ID-$1
  cat >"$B/rootfs/ids.sh" <<'S'
#!/bin/sh
sleep 1000 &
perl -e '$0 = "worker: title"; sleep 1000' &
python3 -c 'import time; time.sleep(1000)' &
echo started
wait
S
  chmod +x "$B/rootfs/ids.sh"
  bundle_set_args "$B" /ids.sh
  bundle_jq "$B" --arg m "$1" '.annotations["run.dune.mode"] = $m'
  create_ctr "$id"
  R start "$id"
  wait_file "$T/$id.out"
  [[ $1 == native ]] || is_dune_process "$(pid_of "$id")"
  local out=
  for _ in $(seq 100); do
    out=$(R exec "$id" ps -eo args --no-headers)
    [[ $out == *"worker: title"* && $out == *time.sleep* ]] && break
    sleep 0.1
  done
  printf '%s\n' "$out" | grep -v '^ps -eo' | sort
  echo "pgrep -f: $(R exec "$id" pgrep -f 'time\.sleep' | wc -l) $(R exec "$id" pgrep -f '^worker: title$' | wc -l)"
  echo "pidof sleep: $(R exec "$id" pidof sleep | wc -w)"
  echo "init cmdline: $(R exec "$id" cat /proc/1/cmdline | tr '\0' '|')"
  R delete --force "$id"
}

@test "debian via dune run: ps -ef, pgrep -f and pidof see each program's true command line, as in native mode" {
  run ps_view dune
  echo "$output"
  [ "$status" -eq 0 ]
  dune_view=$output
  run ps_view native
  echo "native: $output"
  [ "$status" -eq 0 ]
  [ "$dune_view" = "$output" ]
  [[ $output == *$'\nsleep 1000\n'* ]]
  [[ $output == *$'\nworker: title\n'* ]]
  [[ $output == *"pgrep -f: 1 1"* && $output == *"pidof sleep: 1"* ]]
  [[ $output == *"init cmdline: /bin/sh|/ids.sh|" ]]
}

# start_http_server: the first container runs python3 -m http.server on 127.0.0.1:$PORT in its
# own network namespace; sets SRV_PID.
PORT=8080
start_http_server() {
  mkdir -p "$B/rootfs/srv"
  echo "hello from a dune container" >"$B/rootfs/srv/index.txt"
  bundle_set_args "$B" sh -c "cd /srv && exec python3 -u -m http.server --bind 127.0.0.1 $PORT"
  create_ctr "$ID"
  R start "$ID"
  SRV_PID=$(pid_of "$ID")
  is_dune_process "$SRV_PID"
  # Serving: "Serving HTTP on 127.0.0.1 port 8080" on stdout.
  wait_file "$T/$ID.out" 20
  cat "$T/$ID.out" "$T/$ID.err"
}

# client_bundle DIR ARGS...: a Dune container of the same image (read-only) that joins the
# server's network namespace.
client_bundle() {
  local dir=$1; shift
  mkdir -p "$dir"
  R spec --bundle "$dir"
  bundle_set_args "$dir" "$@"
  bundle_jq "$dir" '.process.terminal = false | .root = {path: $r, readonly: true}
      | .linux.namespaces |= map(if .type == "network" then .path = $ns else . end)' \
    --arg r "$B/rootfs" --arg ns "/proc/$SRV_PID/ns/net"
}

@test "debian via dune run: HTTP server on loopback answered from a second container sharing its netns" {
  start_http_server
  client_bundle "$T/client" python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$PORT/index.txt', timeout=10).read().decode(), end='')"
  run --separate-stderr R run --bundle "$T/client" "$ID-client" </dev/null
  echo "client: status $status, out '$output', err '$stderr'"
  [ "$status" -eq 0 ]
  [ "$output" = "hello from a dune container" ]
  grep -q '"GET /index.txt HTTP/1.1" 200' "$T/$ID.err"
}

@test "debian via dune run: the same with lo brought up from the host (Dune networking alone)" {
  start_http_server
  # Works around the runtime leaving lo down (see the test above): up from the host.
  nsenter -t "$SRV_PID" -n ip link set lo up
  client_bundle "$T/client" python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$PORT/index.txt', timeout=10).read().decode(), end='')"
  for _ in $(seq 50); do
    run --separate-stderr R run --bundle "$T/client" "$ID-client" </dev/null
    [ "$status" -eq 0 ] && break
    sleep 0.2
  done
  echo "client: status $status, out '$output', err '$stderr'"
  [ "$status" -eq 0 ]
  [ "$output" = "hello from a dune container" ]
  # And busybox wget, a different client, from a busybox Dune container in the same netns.
  make_bundle "$T/bb" wget -qO- "http://127.0.0.1:$PORT/index.txt" >/dev/null
  bundle_jq "$T/bb" '.linux.namespaces |= map(if .type == "network" then .path = $ns else . end)' \
    --arg ns "/proc/$SRV_PID/ns/net"
  run --separate-stderr R run --bundle "$T/bb" "$ID-bb" </dev/null
  echo "wget: status $status, out '$output', err '$stderr'"
  [ "$status" -eq 0 ]
  [ "$output" = "hello from a dune container" ]
  [ "$(grep -c '"GET /index.txt HTTP/1.1" 200' "$T/$ID.err")" -eq 2 ]
}

# ---------------------------------------------------------------- containerd

@test "debian via containerd: ctr run --runc-binary dune, python3 -c and exit codes" {
  need_containerd
  local rf=(--runc-binary "$DUNE" --runc-root "$CD_DIR/runc-root")
  run ctr_ run --rm "${rf[@]}" "$CD_IMAGE" "$CID" python3 -c "$PY_JSON"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = '{"ok": true}' ]
  run ctr_ run --rm "${rf[@]}" "$CD_IMAGE" "$CID" python3 -c 'import sys; print("bye"); sys.exit(9)'
  [ "$status" -eq 9 ]
  [ "$output" = bye ]
  run ctr_ run --rm "${rf[@]}" "$CD_IMAGE" "$CID" bash -c 'python3 -c "import os; os.kill(os.getpid(), 15)"; exit $?'
  [ "$status" -eq 143 ]
  run ctr_ run --rm "${rf[@]}" "$CD_IMAGE" "$CID" apt --version
  [ "$status" -eq 0 ]
  [[ $output == "apt 2."* ]]
  # Detached: the task's process is a Dune process; exec and kill through the shim.
  ctr_ run -d "${rf[@]}" "$CD_IMAGE" "$CID" python3 -c 'import time; time.sleep(1000)' </dev/null
  for _ in $(seq 100); do [[ $(ctr_ task ls | awk -v id="$CID" '$1 == id {print $3}') == RUNNING ]] && break; sleep 0.1; done
  pid=$(ctr_ task ls | awk -v id="$CID" '$1 == id {print $2}')
  is_dune_process "$pid"
  run ctr_ task exec --exec-id e1 "$CID" python3 -c 'import sys; print("exec"); sys.exit(4)'
  [ "$status" -eq 4 ]
  [ "$output" = exec ]
  ctr_ task kill -s KILL "$CID"
  for _ in $(seq 100); do [[ $(ctr_ task ls | awk -v id="$CID" '$1 == id {print $3}') == STOPPED ]] && break; sleep 0.1; done
  [ "$(ctr_ task ls | awk -v id="$CID" '$1 == id {print $3}')" = STOPPED ]
}

# ---------------------------------------------------------------- docker

@test "debian via docker: run --runtime=dune, python3 -c and exit codes" {
  need_dockerd
  run docker_ run --rm --runtime=dune --network none "$DK_IMAGE" python3 -c "$PY_JSON"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = '{"ok": true}' ]
  run docker_ run --rm --runtime=dune --network none "$DK_IMAGE" python3 -c 'import sys; sys.exit(9)'
  [ "$status" -eq 9 ]
  run docker_ run --rm --runtime=dune --network none "$DK_IMAGE" bash -c 'python3 -c "import os; os.kill(os.getpid(), 9)"; exit $?'
  [ "$status" -eq 137 ]
  run docker_ run --rm --runtime=dune --network none "$DK_IMAGE" apt --version
  [[ $output == "apt 2."* ]]
}

@test "debian via docker: exec, logs, stop, kill of Dune containers" {
  need_dockerd
  docker_ run -d --runtime=dune --network none --name "$CID" "$DK_IMAGE" python3 -u -c '
import signal, sys, time
signal.signal(signal.SIGTERM, lambda *a: (print("got TERM"), sys.exit(0)))
print("started")
while True:
    time.sleep(0.1)' >/dev/null
  for _ in $(seq 50); do docker_ logs "$CID" 2>&1 | grep -q started && break; sleep 0.1; done
  [ "$(docker_ inspect -f '{{.HostConfig.Runtime}}' "$CID")" = dune ]
  is_dune_process "$(docker_ inspect -f '{{.State.Pid}}' "$CID")"

  run docker_ exec "$CID" python3 -c 'import os,sys; print("exec", os.getpid() != 1); sys.exit(6)'
  [ "$status" -eq 6 ]
  [ "$output" = "exec True" ]

  run docker_ logs "$CID"
  [ "$output" = started ]

  docker_ stop -t 20 "$CID"
  [ "$(docker_ inspect -f '{{.State.Status}}' "$CID")" = exited ]
  [ "$(docker_ inspect -f '{{.State.ExitCode}}' "$CID")" = 0 ]
  run docker_ logs "$CID"
  [ "${lines[1]}" = "got TERM" ]
  docker_ rm "$CID"

  docker_ run -d --runtime=dune --network none --name "$CID" "$DK_IMAGE" python3 -c 'import time; time.sleep(1000)' >/dev/null
  [ "$(docker_ inspect -f '{{.State.Status}}' "$CID")" = running ]
  docker_ kill "$CID"
  for _ in $(seq 50); do [[ $(docker_ inspect -f '{{.State.Status}}' "$CID") == exited ]] && break; sleep 0.1; done
  [ "$(docker_ inspect -f '{{.State.ExitCode}}' "$CID")" = 137 ]
  full=$(docker_ inspect -f '{{.Id}}' "$CID")
  docker_ rm "$CID"
  ! "$DUNE" --root "$DK_DIR/exec/runtime-dune/moby" state "$full" 2>/dev/null || false
  [ -z "$(cgroup_dirs "$full")" ]
}
