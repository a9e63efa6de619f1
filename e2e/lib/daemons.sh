# Private containerd and dockerd for the suites, each on its own socket, state and data dirs,
# stopped by pid (never by name). The one place that launches them.
#
#   start_containerd DIR [TOML]  a fresh containerd (Debian's package): DIR emptied, root/state/
#                                sockets under DIR, TOML appended to the config; the CRI plugin
#                                is disabled unless TOML configures it. Sets CD_DIR, CD_SOCK;
#                                `ctr_ ARGS...` talks to it (namespace $CD_NS)
#   start_containerd_with DIR CONFIG
#                                containerd reading CONFIG as it is (it must put root, state and
#                                the socket DIR/containerd.sock under DIR); DIR is kept, so this
#                                also starts a stopped daemon again on its old state (its shims
#                                are left alone; no daemon may be running on DIR)
#   stop_containerd              stops it and the shims that carry its socket address
#   task_status ID, wait_task_status ID STATUS, remove_task ID
#                                a ctr task's status, waiting for one, and a best-effort
#                                kill + rm of task and container (test teardowns)
#   start_dockerd DIR DATA [CONFIG]
#                                dockerd (docker.io) with exec-root and socket under DIR,
#                                data-root DATA, daemon.json CONFIG (default: runtimes.dune =
#                                $DUNE, checked to be registered); sets DK_DIR, DK_SOCK;
#                                `docker_ ARGS...` talks to it with Debian's client
#   stop_dockerd                 stops it
#
# CD_WRAPPER (an array, default empty): command words put before containerd's, e.g. an
# `unshare --mount ...` that starts it (and so its shims and runtimes) in a private mount
# namespace; the words must end in an exec of the rest so that the recorded pid is containerd's.
#
# containerd runs with CD_SHIM_DIR (default: the directory of $DUNE) first on its PATH, where it
# finds containerd-shim-dune-v2 for runtime io.containerd.dune.v2; start_containerd_with adds
# it only when CD_SHIM_DIR is set. Needs $DUNE. The daemons' fds 3 are closed so that bats
# does not wait for them.

CD_NS=${CD_NS:-dune-e2e}
# /usr/local/bin/docker is an unrelated newer client: use Debian's.
DOCKER_CLI=${DOCKER_CLI:-/usr/bin/docker}

ctr_() { ctr --address "$CD_SOCK" --namespace "$CD_NS" "$@" 3>&-; }
docker_() { "$DOCKER_CLI" -H "unix://$DK_SOCK" "$@" 3>&-; }

start_containerd() {
  local dir=$1 extra=${2:-} disabled='disabled_plugins = ["io.containerd.grpc.v1.cri"]'
  local CD_SHIM_DIR=${CD_SHIM_DIR:-$(dirname "$DUNE")}
  CD_DIR=$dir CD_SOCK=$dir/containerd.sock
  stop_containerd
  # A run that died may have left its tasks' rootfs mounts: unmount them before removing.
  awk -v d="$dir/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l
  rm -rf "$dir"
  mkdir -p "$dir"
  [[ $extra == *'plugins."io.containerd.grpc.v1.cri"'* ]] && disabled=''
  cat >"$dir/config.toml" <<TOML
version = 2
root = "$dir/root"
state = "$dir/state"
$disabled
[grpc]
  address = "$dir/containerd.sock"
[ttrpc]
  address = "$dir/containerd.sock.ttrpc"
[debug]
  address = ""
$extra
TOML
  start_containerd_with "$dir" "$dir/config.toml"
}

start_containerd_with() {
  CD_DIR=$1
  CD_SOCK=$CD_DIR/containerd.sock
  command -v containerd >/dev/null || { echo "FATAL: containerd missing (e2e/install-deps.sh)" >&2; return 1; }
  mkdir -p "$CD_DIR"
  PATH="${CD_SHIM_DIR:+$CD_SHIM_DIR:}$PATH" ${CD_WRAPPER[@]+"${CD_WRAPPER[@]}"} containerd --config "$2" \
    >>"$CD_DIR/containerd.log" 2>&1 </dev/null 3>&- &
  echo $! >"$CD_DIR/containerd.pid"
  for _ in $(seq 100); do ctr_ version >/dev/null 2>&1 && break; sleep 0.1; done
  ctr_ version >/dev/null || { tail -n 30 "$CD_DIR/containerd.log" >&2; return 1; }
}

stop_containerd() {
  local pid p
  [[ -n ${CD_DIR:-} && -f $CD_DIR/containerd.pid ]] || return 0
  pid=$(cat "$CD_DIR/containerd.pid")
  # Shims of this daemon outlive it: end them by pid (they carry our socket address).
  for p in $(ps -eo pid=,args= | awk -v s="$CD_SOCK" 'index($0, "containerd-shim") && index($0, s) {print $1}'); do
    kill "$p" 2>/dev/null || true
  done
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$CD_DIR/containerd.pid"
}

start_dockerd() {
  DK_DIR=$1
  local data=$2 config=${3:-}
  DK_SOCK=$DK_DIR/docker.sock
  [[ -x $DOCKER_CLI ]] && command -v dockerd >/dev/null ||
    { echo "FATAL: docker.io missing (e2e/install-deps.sh)" >&2; return 1; }
  stop_dockerd
  mkdir -p "$DK_DIR" "$data"
  if [[ -z $config ]]; then
    config=$DK_DIR/daemon.json
    jq -n --arg dune "$DUNE" '{runtimes: {dune: {path: $dune}}}' >"$config"
  fi
  dockerd --config-file "$config" --data-root "$data" --exec-root "$DK_DIR/exec" \
    --pidfile "$DK_DIR/docker.pid" -H "unix://$DK_SOCK" --iptables=false --ip-masq=false --bridge=none \
    >"$DK_DIR/dockerd.log" 2>&1 </dev/null 3>&- &
  for _ in $(seq 300); do docker_ version >/dev/null 2>&1 && break; sleep 0.1; done
  docker_ version >/dev/null || { tail -n 30 "$DK_DIR/dockerd.log" >&2; return 1; }
  [[ -n ${3:-} ]] && return 0
  docker_ info --format '{{json .Runtimes}}' | jq -e 'has("dune")' >/dev/null ||
    { echo "dockerd did not register the dune runtime" >&2; return 1; }
}

task_status() { ctr_ task ls | awk -v id="$1" '$1 == id {print $3}'; }

wait_task_status() {
  local n=100 s=
  while ((n-- > 0)); do
    s=$(task_status "$1")
    [[ $s == "$2" ]] && return 0
    sleep 0.1
  done
  echo "task $1: status '$s', expected '$2'" >&2
  return 1
}

remove_task() {
  ctr_ task kill -s KILL "$1" >/dev/null 2>&1 || true
  for _ in $(seq 50); do ctr_ task rm "$1" >/dev/null 2>&1 && break; ctr_ task ls -q | grep -qx "$1" || break; sleep 0.1; done
  ctr_ container rm "$1" >/dev/null 2>&1 || true
}

stop_dockerd() {
  local pid
  [[ -n ${DK_DIR:-} && -f $DK_DIR/docker.pid ]] || return 0
  pid=$(cat "$DK_DIR/docker.pid")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$DK_DIR/docker.pid"
}
