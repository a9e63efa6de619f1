# Private containerd and dockerd for the suites, each on its own socket, state and data dirs,
# stopped by pid (never by name).
#
#   start_containerd DIR     containerd (Debian's package) with root/state/socket under DIR;
#                            sets CD_DIR, CD_SOCK; `ctr_ ARGS...` talks to it (namespace $CD_NS)
#   stop_containerd          stops it and the shims that carry its socket address
#   start_dockerd DIR DATA   dockerd (docker.io) with runtimes.dune = $DUNE, exec-root and
#                            socket under DIR, data-root DATA; sets DK_DIR, DK_SOCK;
#                            `docker_ ARGS...` talks to it with Debian's client
#   stop_dockerd             stops it
#
# Needs $DUNE. The daemons' fds 3 are closed so that bats does not wait for them.

CD_NS=${CD_NS:-dune-e2e}
# /usr/local/bin/docker is an unrelated newer client: use Debian's.
DOCKER_CLI=${DOCKER_CLI:-/usr/bin/docker}

ctr_() { ctr --address "$CD_SOCK" --namespace "$CD_NS" "$@" 3>&-; }
docker_() { "$DOCKER_CLI" -H "unix://$DK_SOCK" "$@" 3>&-; }

start_containerd() {
  CD_DIR=$1
  CD_SOCK=$CD_DIR/containerd.sock
  command -v containerd >/dev/null || { echo "FATAL: containerd missing (e2e/install-deps.sh)" >&2; return 1; }
  stop_containerd
  # A run that died may have left its tasks' rootfs mounts: unmount them before removing.
  awk -v d="$CD_DIR/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l
  rm -rf "$CD_DIR"
  mkdir -p "$CD_DIR"
  cat >"$CD_DIR/config.toml" <<TOML
version = 2
root = "$CD_DIR/root"
state = "$CD_DIR/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CD_SOCK"
[ttrpc]
  address = "$CD_SOCK.ttrpc"
[debug]
  address = ""
TOML
  containerd --config "$CD_DIR/config.toml" >"$CD_DIR/containerd.log" 2>&1 </dev/null 3>&- &
  echo $! >"$CD_DIR/containerd.pid"
  for _ in $(seq 100); do ctr_ version >/dev/null 2>&1 && break; sleep 0.1; done
  ctr_ version >/dev/null || { cat "$CD_DIR/containerd.log" >&2; return 1; }
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
  local data=$2
  DK_SOCK=$DK_DIR/docker.sock
  [[ -x $DOCKER_CLI ]] && command -v dockerd >/dev/null ||
    { echo "FATAL: docker.io missing (e2e/install-deps.sh)" >&2; return 1; }
  stop_dockerd
  mkdir -p "$DK_DIR" "$data"
  jq -n --arg dune "$DUNE" '{runtimes: {dune: {path: $dune}}}' >"$DK_DIR/daemon.json"
  dockerd --config-file "$DK_DIR/daemon.json" --data-root "$data" --exec-root "$DK_DIR/exec" \
    --pidfile "$DK_DIR/docker.pid" -H "unix://$DK_SOCK" --iptables=false --ip-masq=false --bridge=none \
    >"$DK_DIR/dockerd.log" 2>&1 </dev/null 3>&- &
  for _ in $(seq 300); do docker_ version >/dev/null 2>&1 && break; sleep 0.1; done
  docker_ version >/dev/null || { tail -n 30 "$DK_DIR/dockerd.log" >&2; return 1; }
  docker_ info --format '{{json .Runtimes}}' | jq -e 'has("dune")' >/dev/null ||
    { echo "dockerd did not register the dune runtime" >&2; return 1; }
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
