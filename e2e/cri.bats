#!/usr/bin/env bats
# The CRI path: Debian's containerd with its CRI plugin enabled and a runtime handler `dune`
# (runtime_type io.containerd.dune.v2, the native shim on containerd's PATH), driven through
# the CRI API (runtime.v1 over gRPC on containerd's socket) by the project's cri-client, as a
# kubelet would: a host-network pod from a pause image built here, a busybox container in it,
# ExecSync, a container killed from the host, a graceful StopContainer, then the pod's
# teardown, after which nothing of the pod may be left (shim, mounts, dune state, cgroups,
# processes holding a KVM VM).
#
# The tests of this file are one scenario: each step works on the pod the earlier ones made
# (ids kept in $BATS_FILE_TMPDIR), so a failing step fails the ones after it.

load lib/helpers
load lib/dune
source "$E2E_REPO/e2e/lib/image.sh"
SHIM=${SHIM:-$E2E_REPO/build/bin/containerd-shim-dune-v2}
# containerd finds containerd-shim-dune-v2 for io.containerd.dune.v2 on its PATH (daemons.sh);
# the shim finds dune beside itself.
CD_SHIM_DIR=$(dirname "$SHIM")
CD_NS=k8s.io # the namespace the CRI plugin works in (images are imported there)
source "$E2E_REPO/e2e/lib/daemons.sh"

CRI_CLIENT=${CRI_CLIENT:-$E2E_REPO/build/e2e/cri-client/cri-client}
CD_DIR=${E2E_CRI_CONTAINERD_DIR:-/run/dune-e2e/containerd-cri}
CD_SOCK=$CD_DIR/containerd.sock
PAUSE_IMAGE=localhost/dune-e2e/pause:latest
IMAGE=localhost/dune-e2e/busybox:latest
# The shim runs dune with runc's shim convention for --root.
DUNE_ROOT=/run/containerd/runc/$CD_NS
LOG_DIR=$CD_DIR/pod-logs
POD_NAME=dune-cri-pod

cri() { "$CRI_CLIENT" --socket "$CD_SOCK" --timeout 120 "$@" 3>&-; }

# Ids of the scenario, kept between its tests.
save() { echo "$2" >"$BATS_FILE_TMPDIR/$1"; }
load_id() { cat "$BATS_FILE_TMPDIR/$1"; }

# Shims serving this daemon: they carry its socket address in their arguments.
shim_pids() {
  ps -eo pid=,comm=,args= | awk -v s="$CD_SOCK" \
    '$2 == "containerd-shim" && index($0, "containerd-shim-dune-v2") && index($0, s) {print $1}'
}

# CAP_SYS_RESOURCE (bit 24) in our bounding set: without it nobody here may lower an
# oom_score_adj (the CRI gives a sandbox -998), so containerd must not ask for less than its own.
have_sys_resource() { (( (16#$(awk '/^CapBnd:/ {print $2}' /proc/self/status) >> 24) & 1 )); }

# The CRI plugin's part of containerd's config (daemons.sh writes the rest).
cri_config() {
  local restrict_oom=false
  have_sys_resource || restrict_oom=true
  cat <<TOML
[plugins."io.containerd.internal.v1.opt"]
  path = "$CD_DIR/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  disable_apparmor = true
  restrict_oom_score_adj = $restrict_oom
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.dune]
      runtime_type = "io.containerd.dune.v2"
  # Host-network pods need no CNI plugin: an empty private configuration.
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CD_DIR/cni-bin"
    conf_dir = "$CD_DIR/cni-conf"
TOML
}

start_cri_containerd() {
  start_containerd "$CD_DIR" "$(cri_config)" || return 1
  mkdir -p "$CD_DIR/cni-conf" "$CD_DIR/cni-bin" "$LOG_DIR"
  for _ in $(seq 100); do cri version >/dev/null 2>&1 && break; sleep 0.1; done
  cri version >/dev/null || { tail -n 30 "$CD_DIR/containerd.log" >&2; return 1; }
}

setup_file() {
  e2e_require_env
  [[ -x $SHIM ]] || { echo "FATAL: $SHIM missing (make build)" >&2; return 1; }
  [[ -c /dev/kvm ]] || { echo "FATAL: /dev/kvm missing: the pod's containers run as Dune processes" >&2; return 1; }
  make -C "$E2E_REPO" --no-print-directory build/e2e/cri-client/cri-client >&2 ||
    { echo "FATAL: cannot build the CRI client (make build/e2e/cri-client/cri-client)" >&2; return 1; }
  start_cri_containerd || return 1
  make_pause_image_tar "$CD_DIR/pause-oci.tar"
  make_oci_image_tar "$CD_DIR/busybox-oci.tar"
  ctr_ images import --base-name localhost/dune-e2e/pause "$CD_DIR/pause-oci.tar" >&2
  ctr_ images import --base-name localhost/dune-e2e/busybox "$CD_DIR/busybox-oci.tar" >&2
  for i in "$PAUSE_IMAGE" "$IMAGE"; do
    ctr_ images ls -q | grep -qx "$i" || { echo "image $i not imported" >&2; return 1; }
  done
}

teardown_file() {
  local pod
  # A scenario that failed half-way: remove its pod through CRI, then stop the daemon (and
  # the shims that carry its address) by pid.
  if [[ -s $BATS_FILE_TMPDIR/pod ]]; then
    pod=$(load_id pod)
    cri stop-pod "$pod" >/dev/null 2>&1 || true
    cri rm-pod "$pod" >/dev/null 2>&1 || true
  fi
  stop_containerd
}

setup() {
  e2e_require_env
}

teardown() {
  [[ -z ${BATS_TEST_COMPLETED:-} ]] && tail -n 30 "$CD_DIR/containerd.log" || true
}

# container_field ID JQ-FILTER: a field of the container's CRI status.
container_field() { cri status "$1" | jq -r "$2"; }

# wait_container_state ID STATE
wait_container_state() {
  local s=
  for _ in $(seq 100); do
    s=$(container_field "$1" .state) && [[ $s == "$2" ]] && return 0
    sleep 0.1
  done
  echo "container $1: state '$s', expected '$2'" >&2
  return 1
}

dune_pid() { "$DUNE" --root "$DUNE_ROOT" state "$1" | jq -r .pid; }

# kvm_holders ID...: pids of the processes that hold a KVM VM (anon_inode:kvm-vm) and whose
# cgroup path names one of the ids: the pod's Dune processes.
kvm_holders() {
  local p ids
  ids=$(printf '%s\n' "$@")
  for p in /proc/[0-9]*; do
    find "$p/fd" -maxdepth 1 -lname 'anon_inode:kvm-vm' 2>/dev/null | grep -q . || continue
    grep -qFf <(echo "$ids") "$p/cgroup" 2>/dev/null && echo "${p#/proc/}"
  done
  return 0
}

@test "cri: containerd's CRI plugin answers runtime.v1 Version on its socket" {
  run cri version
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(jq -r .runtimeName <<<"$output")" = containerd ]
  [ "$(jq -r .runtimeApiVersion <<<"$output")" = v1 ]
}

@test "cri: RunPodSandbox with an unknown runtime handler fails with a clear error" {
  run cri run-pod "$POD_NAME-nohandler" --handler no-such-handler
  echo "$output"
  [ "$status" -eq 1 ]
  [[ $output == *"no-such-handler"* ]]
  [[ $output == *"runtime"* ]]
  # Nothing was started for it.
  [ -z "$(shim_pids)" ]
}

@test "cri: RunPodSandbox (handler dune, host network) runs the pause container as a Dune process" {
  run cri run-pod "$POD_NAME" --handler dune --log-dir "$LOG_DIR/$POD_NAME"
  echo "$output"
  [ "$status" -eq 0 ]
  pod=${lines[-1]}
  [[ $pod =~ ^[0-9a-f]{64}$ ]]
  save pod "$pod"
  run cri pod-status "$pod"
  echo "$output"
  [ "$(jq -r .state <<<"$output")" = SANDBOX_READY ]
  [ "$(jq -r .runtimeHandler <<<"$output")" = dune ]
  [ "$(jq -r .network <<<"$output")" = NODE ]
  # The sandbox is a dune container of that id, running the pause program under libdune.
  "$DUNE" --root "$DUNE_ROOT" state "$pod" | jq -e '.status == "running"'
  pause=$(dune_pid "$pod")
  [ "$pause" -gt 0 ]
  is_dune_process "$pause"
  save pause "$pause"
  # Host networking: the sandbox shares the network namespace of the host (containerd's).
  [ "$(readlink "/proc/$pause/ns/net")" = "$(readlink "/proc/$(cat "$CD_DIR/containerd.pid")/ns/net")" ]
  # One shim, the sandbox's, and it is the pause process's parent (its subreaper).
  shim=$(shim_pids)
  [ "$(wc -w <<<"$shim")" -eq 1 ]
  [ "$(ps -o ppid= -p "$pause" | tr -d ' ')" = "$shim" ]
  save shim "$shim"
  socket=$(sed 's|^unix://||' "$CD_DIR/state/io.containerd.runtime.v2.task/$CD_NS/$pod/address")
  [ -S "$socket" ]
  save socket "$socket"
}

@test "cri: CreateContainer + StartContainer run busybox in the pod as a Dune process under the pod's one shim" {
  pod=$(load_id pod)
  run cri create "$pod" "$POD_NAME" box "$IMAGE" --log-dir "$LOG_DIR/$POD_NAME" --env GREETING=hello-from-cri -- \
    sh -c 'echo "$GREETING"; trap "exit 0" TERM; while :; do sleep 0.2; done'
  echo "$output"
  [ "$status" -eq 0 ]
  ctr=${lines[-1]}
  [[ $ctr =~ ^[0-9a-f]{64}$ ]]
  save ctr "$ctr"
  [ "$(container_field "$ctr" .state)" = CONTAINER_CREATED ]
  cri start "$ctr"
  wait_container_state "$ctr" CONTAINER_RUNNING
  run cri ps "$pod"
  echo "$output"
  [ "${#lines[@]}" -eq 1 ]
  [ "${lines[0]}" = "$ctr box CONTAINER_RUNNING" ]

  # containerd's pid, dune's pid: the same process, running under libdune.
  pid=$(container_field "$ctr" .pid)
  [ "$pid" -gt 0 ]
  [ "$(dune_pid "$ctr")" = "$pid" ]
  "$DUNE" --root "$DUNE_ROOT" state "$ctr" | jq -e '.status == "running"'
  is_dune_process "$pid"
  save pid "$pid"
  pause=$(load_id pause)
  is_dune_process "$pause"
  # Same pod: the container joined the sandbox's PID and IPC namespaces and the host network.
  for ns in pid ipc; do
    [ "$(readlink "/proc/$pid/ns/$ns")" = "$(readlink "/proc/$pause/ns/$ns")" ]
  done
  [ "$(readlink "/proc/$pid/ns/net")" = "$(readlink "/proc/$(cat "$CD_DIR/containerd.pid")/ns/net")" ]
  # Exactly one shim serves the pod, and it is the parent of both containers' processes.
  shim=$(shim_pids)
  [ "$(wc -w <<<"$shim")" -eq 1 ]
  [ "$shim" = "$(load_id shim)" ]
  [ "$(ps -o ppid= -p "$pid" | tr -d ' ')" = "$shim" ]
  [ "$(ps -o ppid= -p "$pause" | tr -d ' ')" = "$shim" ]
  # The resources the end of the scenario must find released exist now: both rootfs mounts
  # and both containers' cgroups.
  for id in "$pod" "$ctr"; do
    grep -qF "/$CD_NS/$id/rootfs" /proc/self/mountinfo
    [ -n "$(cgroup_dirs "$id")" ]
  done
  # Both hold a KVM VM, and the check below sees them (so it can see a leak at the end).
  holders=$(kvm_holders "$pod" "$ctr")
  echo "kvm holders: $holders"
  grep -qx "$pid" <<<"$holders"
  grep -qx "$pause" <<<"$holders"
  # The container's stdout reached the CRI log file through the shim's FIFOs.
  log=$(container_field "$ctr" .logPath)
  [ "$log" = "$LOG_DIR/$POD_NAME/box.log" ]
  for _ in $(seq 50); do grep -q "stdout F hello-from-cri" "$log" 2>/dev/null && break; sleep 0.1; done
  grep "stdout F hello-from-cri" "$log"
}

@test "cri: ExecSync returns the command's stdout, stderr and exit code" {
  ctr=$(load_id ctr)
  run cri exec-sync "$ctr" -- sh -c 'echo out-line; echo err-line >&2; echo second-line'
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(jq -r .exitCode <<<"$output")" -eq 0 ]
  [ "$(jq -r .stdout <<<"$output")" = "out-line
second-line" ]
  [ "$(jq -r .stderr <<<"$output")" = err-line ]
  # A non-zero exit code passes through as it is.
  run cri exec-sync "$ctr" -- sh -c 'echo failing; exit 3'
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(jq -r .exitCode <<<"$output")" -eq 3 ]
  [ "$(jq -r .stdout <<<"$output")" = failing ]
  # The exec'd process runs in the container (its environment and pod PID namespace: the
  # pause program is PID 1 there).
  run cri exec-sync "$ctr" -- sh -c 'echo "$GREETING"; tr "\0" " " </proc/1/cmdline; echo'
  echo "$output"
  [ "$(jq -r .exitCode <<<"$output")" -eq 0 ]
  [ "$(jq -r .stdout <<<"$output" | head -n1)" = hello-from-cri ]
  [[ $(jq -r .stdout <<<"$output" | sed -n 2p) == *"/pause"* ]]
}

@test "cri: ExecSync: a command past its timeout is killed (DeadlineExceeded), a signal death is 128+N, a missing program is named" {
  ctr=$(load_id ctr)
  cri exec-sync "$ctr" --exec-timeout 3 -- sleep 4242 >"$BATS_TEST_TMPDIR/timeout.out" 2>&1 &
  client=$!
  # While it runs, the exec'd process is a Dune process too.
  # It is found among the container's processes (its pids cgroup), not by name: the client's
  # own arguments name it too.
  cg=$(cgroup_dirs "$ctr" | grep -m1 '^/sys/fs/cgroup/pids/')
  [ -n "$cg" ]
  p=
  for _ in $(seq 50); do
    for q in $(cat "$cg/cgroup.procs"); do
      tr '\0' ' ' <"/proc/$q/cmdline" 2>/dev/null | grep -q 'sleep 4242' && p=$q
    done
    [ -n "$p" ] && break
    sleep 0.1
  done
  [ -n "$p" ]
  is_dune_process "$p"
  rc=0
  wait "$client" || rc=$?
  cat "$BATS_TEST_TMPDIR/timeout.out"
  [ "$rc" -eq 1 ]
  grep -q DeadlineExceeded "$BATS_TEST_TMPDIR/timeout.out"
  grep -q "timeout 3s exceeded" "$BATS_TEST_TMPDIR/timeout.out"
  for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  wait_gone "$p"
  run cri exec-sync "$ctr" -- sh -c 'kill -KILL $$'
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(jq -r .exitCode <<<"$output")" -eq 137 ]
  run cri exec-sync "$ctr" -- /no/such/program
  echo "$output"
  [ "$status" -eq 1 ]
  [[ $output == *"/no/such/program"* ]]
  # The container itself is unaffected.
  [ "$(container_field "$ctr" .state)" = CONTAINER_RUNNING ]
}

@test "cri: the container's process killed from the host: ContainerStatus EXITED, exit code 137" {
  ctr=$(load_id ctr)
  pid=$(load_id pid)
  [ "$(container_field "$ctr" .state)" = CONTAINER_RUNNING ]
  kill -KILL "$pid"
  wait_container_state "$ctr" CONTAINER_EXITED
  run cri status "$ctr"
  echo "$output"
  [ "$(jq -r .exitCode <<<"$output")" -eq 137 ]
  [ "$(jq -r .finishedAt <<<"$output")" -gt 0 ]
  # The sandbox lives on.
  pod=$(load_id pod)
  [ "$(cri pod-status "$pod" | jq -r .state)" = SANDBOX_READY ]
  kill -0 "$(load_id pause)"
}

@test "cri: StopContainer ends a running container with its stop signal (TERM, exit 0)" {
  pod=$(load_id pod)
  run cri create "$pod" "$POD_NAME" graceful "$IMAGE" -- sh -c 'trap "exit 0" TERM; while :; do sleep 0.2; done'
  echo "$output"
  [ "$status" -eq 0 ]
  ctr2=${lines[-1]}
  save ctr2 "$ctr2"
  cri start "$ctr2"
  wait_container_state "$ctr2" CONTAINER_RUNNING
  pid=$(container_field "$ctr2" .pid)
  is_dune_process "$pid"
  # Still one shim for the whole pod.
  [ "$(shim_pids)" = "$(load_id shim)" ]
  cri stop "$ctr2" --grace 30
  run cri status "$ctr2"
  echo "$output"
  [ "$(jq -r .state <<<"$output")" = CONTAINER_EXITED ]
  [ "$(jq -r .exitCode <<<"$output")" -eq 0 ]
  cri rm "$ctr2"
  run cri status "$ctr2"
  [ "$status" -ne 0 ]
  [[ $output == *NotFound* ]]
  ! "$DUNE" --root "$DUNE_ROOT" state "$ctr2" >/dev/null 2>&1 || false
  [ -z "$(cgroup_dirs "$ctr2")" ]
}

@test "cri: StopContainer, RemoveContainer, StopPodSandbox, RemovePodSandbox leave nothing behind" {
  pod=$(load_id pod)
  ctr=$(load_id ctr)
  ctr2=$(load_id ctr2)
  shim=$(load_id shim)
  # StopContainer of an exited container is fine (idempotent), then remove it.
  cri stop "$ctr" --grace 10
  cri rm "$ctr"
  run cri ps "$pod"
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  # The sandbox alone keeps the shim.
  kill -0 "$shim"
  cri stop-pod "$pod"
  run cri pod-status "$pod"
  echo "$output"
  [ "$(jq -r .state <<<"$output")" = SANDBOX_NOTREADY ]
  wait_gone "$(load_id pause)"
  cri rm-pod "$pod"
  run cri pod-status "$pod"
  [ "$status" -ne 0 ]
  [[ $output == *NotFound* ]]

  # Nothing is left: no shim, no rootfs mount, no dune state, no cgroup, no Dune process.
  for _ in $(seq 50); do [ -z "$(shim_pids)" ] && break; sleep 0.1; done
  [ -z "$(shim_pids)" ]
  wait_gone "$shim"
  [ ! -e "$(load_id socket)" ]
  for id in "$pod" "$ctr" "$ctr2"; do
    ! grep -F "$id" /proc/self/mountinfo || false
    ! "$DUNE" --root "$DUNE_ROOT" state "$id" >/dev/null 2>&1 || false
    [ -z "$(cgroup_dirs "$id")" ]
  done
  [ -z "$(kvm_holders "$pod" "$ctr" "$ctr2")" ]
  for p in "$(load_id pause)" "$(load_id pid)"; do wait_gone "$p"; done
  rm -f "$BATS_FILE_TMPDIR/pod"
}
