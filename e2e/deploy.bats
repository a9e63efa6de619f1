#!/usr/bin/env bats
# deploy/install.sh and the Kubernetes manifests: installs into a temporary host root next to
# existing containerd and docker configs, then proves the entries work with the real daemons
# (Debian's containerd and dockerd, private sockets and dirs); a second install changes
# nothing; conflicts are refused with nothing changed; --uninstall restores every file.

load lib/helpers
source "$E2E_REPO/e2e/lib/image.sh"
source "$E2E_REPO/e2e/lib/daemons.sh"
source "$E2E_REPO/e2e/lib/debian.sh"
source "$E2E_REPO/e2e/lib/deploy.bash"

INSTALL=$E2E_REPO/deploy/install.sh
K8S=$E2E_REPO/deploy/kubernetes
CD_NS=dune-e2e-deploy
CD_RUN_DIR=${E2E_CONTAINERD_DIR:-/run/dune-e2e/containerd-deploy}
DK_IMAGE=dune-e2e/busybox:latest

setup() {
  common_setup
  H=$T/host
  mkdir -p "$H"
}

teardown() {
  if [[ -z ${BATS_TEST_COMPLETED:-} ]]; then
    [[ -f ${CD_DIR:-/nonexistent}/containerd.log ]] && tail -n 20 "$CD_DIR/containerd.log"
    [[ -f ${DK_DIR:-/nonexistent}/dockerd.log ]] && tail -n 20 "$DK_DIR/dockerd.log"
  fi
  stop_containerd
  stop_dockerd
  common_teardown
}

# A host root with existing configs a user wrote (containerd 1.6/1.7 syntax) and an
# unrelated file where one of our binaries goes.
populate_host() {
  mkdir -p "$H/etc/containerd" "$H/etc/docker" "$H/usr/local/bin"
  cat >"$H/etc/containerd/config.toml" <<'TOML'
version = 2
oom_score = -999

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.example/pause:3.9"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
TOML
  printf '%s' '{"log-level": "warn", "runtimes": {"crun": {"path": "/usr/bin/crun"}}}' >"$H/etc/docker/daemon.json"
  chmod 0600 "$H/etc/docker/daemon.json"
  printf 'an older dune-run\n' >"$H/usr/local/bin/dune-run"
  chmod 0750 "$H/usr/local/bin/dune-run"
}

install_to_host() { "$INSTALL" --root "$H" --containerd-config /etc/containerd/config.toml --docker-config /etc/docker/daemon.json "$@"; }

@test "deploy: --help documents the options; an unknown option fails" {
  run "$INSTALL" --help
  [ "$status" -eq 0 ]
  for opt in --prefix --root --containerd-config --docker-config --restart --uninstall; do
    [[ $output == *"$opt"* ]]
  done
  run "$INSTALL" --frobnicate
  [ "$status" -ne 0 ]
  [[ $output == *"unknown option: --frobnicate"* ]]
}

@test "deploy: install into a host root keeps the existing config and adds the dune entries" {
  populate_host
  before=$(snapshot "$H")
  run install_to_host
  echo "$output"
  [ "$status" -eq 0 ]
  [[ $output == *"restart containerd"* && $output == *"restart docker"* ]]   # said, not done

  # Binaries: the installed copies run.
  for b in dune dune-init dune-run containerd-shim-dune-v2; do
    cmp "$E2E_REPO/build/bin/$b" "$H/usr/local/bin/$b"
    [ "$(stat -c %a "$H/usr/local/bin/$b")" = 755 ]
  done
  run "$H/usr/local/bin/dune" --version
  [ "$status" -eq 0 ]
  [[ ${lines[0]} == "dune version "* ]]

  # containerd: both runtimes with host paths (not $H), the user's settings kept.
  c=$H/etc/containerd/config.toml
  cri='io.containerd.grpc.v1.cri'
  [ "$(toml_get "$c" plugins "$cri" containerd runtimes dune runtime_type)" = io.containerd.dune.v2 ]
  [ "$(toml_get "$c" plugins "$cri" containerd runtimes dune runtime_path)" = /usr/local/bin/containerd-shim-dune-v2 ]
  [ "$(toml_get "$c" plugins "$cri" containerd runtimes dune-runc runtime_type)" = io.containerd.runc.v2 ]
  [ "$(toml_get "$c" plugins "$cri" containerd runtimes dune-runc options BinaryName)" = /usr/local/bin/dune ]
  [ "$(toml_get "$c" plugins "$cri" sandbox_image)" = registry.example/pause:3.9 ]
  [ "$(toml_get "$c" plugins "$cri" containerd default_runtime_name)" = runc ]
  [ "$(toml_get "$c" oom_score)" = -999 ]
  grep -qxF '# >>> dune runtime (added by dune install.sh; --uninstall removes it) >>>' "$c"

  # docker: the dune runtime merged in, the rest and the file mode kept.
  d=$H/etc/docker/daemon.json
  jq -e '.runtimes.dune.path == "/usr/local/bin/dune" and .runtimes.crun.path == "/usr/bin/crun" and ."log-level" == "warn"' "$d"
  [ "$(stat -c %a "$d")" = 600 ]

  # The manifest says what was done.
  grep -qP '^edited\t/etc/containerd/config.toml\t' "$H/var/lib/dune/install.manifest"
  grep -qP '^bin\t/usr/local/bin/dune-run\t[0-9a-f]{64}\t/var/lib/dune/backup/' "$H/var/lib/dune/install.manifest"

  # A second install changes nothing at all.
  after=$(snapshot "$H")
  run install_to_host
  echo "$output"
  [ "$status" -eq 0 ]
  [[ $output == *"already configured"* && $output != *"restart"* ]]
  [ "$(snapshot "$H")" = "$after" ]

  # --uninstall: every file as it was, byte for byte, same modes; no binary, no state left.
  run "$INSTALL" --root "$H" --uninstall
  echo "$output"
  [ "$status" -eq 0 ]
  diff <(echo "$before") <(snapshot "$H")
  [ ! -e "$H/usr/local/bin/dune" ] && [ ! -e "$H/var/lib/dune" ]
  [ "$(cat "$H/usr/local/bin/dune-run")" = "an older dune-run" ]
  # Nothing left to undo.
  run "$INSTALL" --root "$H" --uninstall
  [ "$status" -eq 0 ]
  [[ $output == *"nothing to uninstall"* ]]
}

@test "deploy: containerd 2.x config (version 3) gets the io.containerd.cri.v1.runtime tables" {
  mkdir -p "$H/etc/containerd"
  printf 'version = 3\n\n[plugins."io.containerd.cri.v1.images"]\n  snapshotter = "overlayfs"\n' >"$H/etc/containerd/config.toml"
  before=$(snapshot "$H")
  run "$INSTALL" --root "$H" --prefix /opt/dune --containerd-config /etc/containerd/config.toml --no-docker
  echo "$output"
  [ "$status" -eq 0 ]
  c=$H/etc/containerd/config.toml
  cri='io.containerd.cri.v1.runtime'
  [ "$(toml_get "$c" plugins "$cri" containerd runtimes dune runtime_type)" = io.containerd.dune.v2 ]
  [ "$(toml_get "$c" plugins "$cri" containerd runtimes dune runtime_path)" = /opt/dune/bin/containerd-shim-dune-v2 ]
  [ "$(toml_get "$c" plugins "$cri" containerd runtimes dune-runc options BinaryName)" = /opt/dune/bin/dune ]
  [ "$(toml_get "$c" plugins io.containerd.cri.v1.images snapshotter)" = overlayfs ]
  ! grep -q 'io.containerd.grpc.v1.cri' "$c" || false
  [ -x "$H/opt/dune/bin/dune" ] && [ ! -e "$H/etc/docker" ]
  run "$INSTALL" --root "$H" --uninstall
  [ "$status" -eq 0 ]
  diff <(echo "$before") <(snapshot "$H")
}

@test "deploy: no containerd config: one is created that keeps containerd's defaults" {
  run "$INSTALL" --root "$H" --containerd-config /etc/containerd/config.toml --no-docker
  echo "$output"
  [ "$status" -eq 0 ]
  c=$H/etc/containerd/config.toml
  [ "$(toml_get "$c" version)" = 2 ]
  # containerd's own reading of it: the defaults are still there (runc runtime, default
  # runtime name, sandbox image) beside ours.
  containerd --config "$c" config dump >"$T/dump.toml"
  cri='io.containerd.grpc.v1.cri'
  [ "$(toml_get "$T/dump.toml" plugins "$cri" containerd default_runtime_name)" = runc ]
  [ "$(toml_get "$T/dump.toml" plugins "$cri" containerd runtimes runc runtime_type)" = io.containerd.runc.v2 ]
  [ "$(toml_get "$T/dump.toml" plugins "$cri" containerd runtimes dune runtime_type)" = io.containerd.dune.v2 ]
  [ "$(toml_get "$T/dump.toml" plugins "$cri" containerd runtimes dune-runc options BinaryName)" = /usr/local/bin/dune ]
  [[ $(toml_get "$T/dump.toml" plugins "$cri" sandbox_image) == */pause:* ]]
  run "$INSTALL" --root "$H" --uninstall
  [ "$status" -eq 0 ]
  # Created by the installer, so removed with the directories it made.
  [ -z "$(ls -A "$H")" ]
}

@test "deploy: upgrades and a new prefix replace only the installer's own entries; --uninstall undoes all" {
  populate_host
  before=$(snapshot "$H")
  install_to_host
  # A newer build: only dune-run differs.
  mkdir -p "$T/newer"
  cp "$E2E_REPO"/build/bin/{dune,dune-init,dune-run,containerd-shim-dune-v2} "$T/newer/"
  printf 'x' >>"$T/newer/dune-run"
  run install_to_host --from "$T/newer"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(grep -c '^install.sh: installed ' <<<"$output")" = 1 ]
  cmp "$T/newer/dune-run" "$H/usr/local/bin/dune-run"
  # Another prefix: the entries follow it (they are the installer's, so no refusal).
  run install_to_host --prefix /opt/dune
  echo "$output"
  [ "$status" -eq 0 ]
  c=$H/etc/containerd/config.toml
  [ "$(toml_get "$c" plugins io.containerd.grpc.v1.cri containerd runtimes dune-runc options BinaryName)" = /opt/dune/bin/dune ]
  [ "$(grep -c 'dune runtime (added by' "$c")" = 1 ]
  jq -e '.runtimes.dune.path == "/opt/dune/bin/dune"' "$H/etc/docker/daemon.json"
  run "$INSTALL" --root "$H" --uninstall
  echo "$output"
  [ "$status" -eq 0 ]
  diff <(echo "$before") <(snapshot "$H")
}

@test "deploy: a dune runtime that is not the installer's is refused and nothing changes" {
  populate_host
  cat >>"$H/etc/containerd/config.toml" <<'TOML'
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.dune]
      runtime_type = "io.containerd.runc.v2"
TOML
  before=$(snapshot "$H")
  run install_to_host
  echo "$output"
  [ "$status" -ne 0 ]
  [[ $output == *"already defines a runtime named dune"*"nothing was changed"* ]]
  [ "$(snapshot "$H")" = "$before" ]

  # The same for docker: a different runtime named dune.
  populate_host
  jq -c '.runtimes.dune = {path: "/usr/bin/something-else"}' "$H/etc/docker/daemon.json" >"$T/d.json"
  cp "$T/d.json" "$H/etc/docker/daemon.json"
  before=$(snapshot "$H")
  run install_to_host
  echo "$output"
  [ "$status" -ne 0 ]
  [[ $output == *"already has a different runtime named dune"*"nothing was changed"* ]]
  [ "$(snapshot "$H")" = "$before" ]
}

@test "deploy: after the config was edited by hand, --uninstall removes only the dune entries" {
  populate_host
  install_to_host
  sed -i 's/^oom_score = -999$/oom_score = -500/' "$H/etc/containerd/config.toml"
  jq '."debug" = true' "$H/etc/docker/daemon.json" >"$T/d.json" && cp "$T/d.json" "$H/etc/docker/daemon.json"
  run "$INSTALL" --root "$H" --uninstall
  echo "$output"
  [ "$status" -eq 0 ]
  [[ $output == *"removed only the dune entries"* ]]
  c=$H/etc/containerd/config.toml
  [ "$(toml_get "$c" oom_score)" = -500 ]
  ! grep -q 'dune' "$c" || false
  jq -e '.debug == true and (.runtimes | has("dune") | not) and .runtimes.crun.path == "/usr/bin/crun"' "$H/etc/docker/daemon.json"
  [ ! -e "$H/usr/local/bin/dune" ]
  # The pre-install originals stay available, and are said to.
  [[ $output == *"kept as $H/var/lib/dune/backup/"* ]]
}

@test "deploy: containerd started with the installed config runs containers through both runtime entries" {
  # The real host root, with everything the test writes under $T (prefix, config, state).
  local dir=$CD_RUN_DIR
  mkdir -p "$T/etc"
  cat >"$T/etc/config.toml" <<TOML
version = 2
root = "$dir/root"
state = "$dir/state"
[grpc]
  address = "$dir/containerd.sock"
[ttrpc]
  address = "$dir/containerd.sock.ttrpc"
[debug]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
  stream_server_port = "0"
TOML
  before=$(snapshot "$T/etc")
  "$INSTALL" --prefix "$T/prefix" --state-dir "$T/state" --containerd-config "$T/etc/config.toml" --no-docker
  rm -rf "$dir"
  start_containerd_with "$dir" "$T/etc/config.toml"

  # The CRI plugin loaded the config (with our runtimes) without error.
  ctr_ plugins ls | awk '$2 == "cri" {print $NF}' | grep -qx ok
  containerd --config "$T/etc/config.toml" config dump >"$T/dump.toml"
  cri='io.containerd.grpc.v1.cri'
  shim=$(toml_get "$T/dump.toml" plugins "$cri" containerd runtimes dune runtime_path)
  binary=$(toml_get "$T/dump.toml" plugins "$cri" containerd runtimes dune-runc options BinaryName)
  [ "$shim" = "$T/prefix/bin/containerd-shim-dune-v2" ]
  [ "$binary" = "$T/prefix/bin/dune" ]
  # The user's file named no runtime: the default one (runc) must survive our tables.
  [ "$(toml_get "$T/dump.toml" plugins "$cri" containerd runtimes runc runtime_type)" = io.containerd.runc.v2 ]

  # What those entries name works: the native shim, and runc's shim with dune as its binary.
  make_oci_image_tar "$T/busybox-oci.tar"
  ctr_ images import --base-name localhost/dune-e2e/busybox "$T/busybox-oci.tar" >/dev/null
  run ctr_ run --rm --runtime "$shim" localhost/dune-e2e/busybox:latest "dep-shim-$$" sh -c 'echo native shim; exit 4'
  echo "$output"
  [ "$status" -eq 4 ]
  [ "$output" = "native shim" ]
  run ctr_ run --rm --runc-binary "$binary" localhost/dune-e2e/busybox:latest "dep-runc-$$" sh -c 'echo runc shim'
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = "runc shim" ]
  stop_containerd

  "$INSTALL" --state-dir "$T/state" --uninstall
  diff <(echo "$before") <(snapshot "$T/etc")
  [ ! -e "$T/prefix" ] && [ ! -e "$T/state" ]
}

@test "deploy: dockerd started with the installed daemon.json runs docker run --runtime dune" {
  mkdir -p "$T/etc"
  printf '{\n  "log-level": "info",\n  "storage-driver": "overlay2"\n}\n' >"$T/etc/daemon.json"
  before=$(snapshot "$T/etc")
  "$INSTALL" --prefix "$T/prefix" --state-dir "$T/state" --docker-config "$T/etc/daemon.json" --no-containerd
  jq -e --arg p "$T/prefix/bin/dune" '.runtimes.dune.path == $p and ."storage-driver" == "overlay2"' "$T/etc/daemon.json"
  start_deploy_dockerd "$T/etc/daemon.json"
  docker_ info --format '{{json .Runtimes}}' | jq -e --arg p "$T/prefix/bin/dune" '.dune.path == $p'
  make_rootfs_tar "$T/rootfs.tar"
  docker_ import --change 'CMD ["sh"]' "$T/rootfs.tar" "$DK_IMAGE" >/dev/null
  run docker_ run --rm --runtime dune --network none "$DK_IMAGE" sh -c 'echo hello through daemon.json; exit 7'
  echo "$output"
  [ "$status" -eq 7 ]
  [ "$output" = "hello through daemon.json" ]
  stop_dockerd

  "$INSTALL" --state-dir "$T/state" --uninstall
  diff <(echo "$before") <(snapshot "$T/etc")
  [ ! -e "$T/prefix" ] && [ ! -e "$T/state" ]
}

@test "deploy: Kubernetes manifests: RuntimeClass dune and the installer DaemonSet" {
  version=$("$DUNE" --version | awk 'NR == 1 {print $3}')
  python3 - "$K8S/runtimeclass.yaml" "$K8S/installer-daemonset.yaml" "$version" <<'PY'
import sys, yaml
rc = list(yaml.safe_load_all(open(sys.argv[1])))
ds = list(yaml.safe_load_all(open(sys.argv[2])))
version = sys.argv[3]
assert len(rc) == 1 and len(ds) == 1, (len(rc), len(ds))
rc, ds = rc[0], ds[0]
assert rc["apiVersion"] == "node.k8s.io/v1" and rc["kind"] == "RuntimeClass", rc
assert rc["metadata"]["name"] == "dune" and rc["handler"] == "dune", rc
assert ds["apiVersion"] == "apps/v1" and ds["kind"] == "DaemonSet", ds
spec = ds["spec"]["template"]["spec"]
assert ds["spec"]["selector"]["matchLabels"].items() <= ds["spec"]["template"]["metadata"]["labels"].items()
# The installer runs on the nodes the RuntimeClass schedules dune pods to.
assert rc["scheduling"]["nodeSelector"].items() <= spec["nodeSelector"].items(), (rc["scheduling"], spec["nodeSelector"])
assert spec["hostPID"] is True
(c,) = spec["containers"]
assert c["image"] == "dune-installer:" + version, c["image"]
assert c["securityContext"]["privileged"] is True
cmd = " ".join(c.get("command", []) + c.get("args", []))
assert "/opt/dune/install.sh --root /host --no-docker --restart" in cmd and "sleep" in cmd, cmd
mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
vols = {v["name"]: v["hostPath"]["path"] for v in spec["volumes"] if "hostPath" in v}
assert any(mounts.get(n) == "/host" and p == "/" for n, p in vols.items()), (mounts, vols)
PY
  # The Dockerfile puts install.sh where the DaemonSet runs it.
  grep -qE '^COPY deploy/install.sh /opt/dune/install.sh$' "$E2E_REPO/Dockerfile"
}
