#!/usr/bin/env bats
# The Dockerfile: builds with the local dockerd (docker.io) from base images made here (no
# registry is reachable): the Debian image imported from debian.sh's rootfs and an SDK image
# made of it plus this host's .NET SDK. The installer image it produces installs working
# binaries into a host root mounted at /host, runs the DaemonSet's command, and uninstalls.
#
#   E2E_IMAGE_NO_CACHE=1   build without docker's layer cache (a first build on a fresh host)

load lib/helpers
source "$E2E_REPO/e2e/lib/daemons.sh"
source "$E2E_REPO/e2e/lib/debian.sh"
source "$E2E_REPO/e2e/lib/deploy.bash"

INSTALLER=dune-e2e/dune-installer:test
# A build from scratch takes about 3 minutes here (run-tests.sh's default is 180 s per test).
BATS_TEST_TIMEOUT=$(( ${BATS_TEST_TIMEOUT:-0} > 900 ? BATS_TEST_TIMEOUT : 900 ))
# Top level, not in setup_file: the tests need them too.
DK_DIR=$DEPLOY_DK_DIR
DK_SOCK=$DK_DIR/docker.sock
BUILD_LOG=$DEPLOY_DK_DIR/image-build.log

setup_file() {
  e2e_require_env
  mkdir -p "$DEPLOY_DK_DIR"
  echo '{}' >"$DEPLOY_DK_DIR/daemon.image.json"
  start_deploy_dockerd "$DEPLOY_DK_DIR/daemon.image.json"
  import_sdk_image
}

teardown_file() {
  # The build stages left untagged (GBs each): the base images stay cached for the next run.
  docker_ image prune -f >/dev/null || true
  stop_dockerd
}

setup() {
  common_setup
  H=$T/host
  mkdir -p "$H"
  NAME=img-${BATS_TEST_NUMBER}-$$-$RANDOM
}

teardown() {
  docker_ rm -f "$NAME" >/dev/null 2>&1 || true
  common_teardown
}

installer_built() {
  docker_ image inspect "$INSTALLER" >/dev/null 2>&1 ||
    { echo "the installer image was not built (see the first test)" >&2; return 1; }
}

@test "image: the Dockerfile builds the installer image from the local base images" {
  # A stale tag must not pass for a fresh build.
  docker_ rmi -f "$INSTALLER" >/dev/null 2>&1 || true
  local t0 t1 no_cache=()
  [[ ${E2E_IMAGE_NO_CACHE:-} == 1 ]] && no_cache=(--no-cache)
  t0=$(date +%s)
  run docker_ build "${no_cache[@]}" --network host \
    --build-arg SDK_IMAGE="$SDK_IMAGE" --build-arg BASE_IMAGE="$DEBIAN_IMAGE" \
    --build-arg NUGET_CERT_REVOCATION_MODE="${NUGET_CERT_REVOCATION_MODE:-online}" \
    -t "$INSTALLER" "$E2E_REPO"
  t1=$(date +%s)
  printf '%s\n' "$output" >"$BUILD_LOG"
  echo "# docker build took $((t1 - t0)) s (log: $BUILD_LOG)" >&3
  [ "$status" -eq 0 ] || { tail -n 40 "$BUILD_LOG"; false; }
  # Built from source in the image: the build stage ran make build and the runtime.
  grep -q '^dune version ' "$BUILD_LOG"
  [ "$(docker_ image inspect -f '{{json .Config.Entrypoint}}' "$INSTALLER")" = '["/opt/dune/install.sh"]' ]
  run docker_ run --rm --network none "$INSTALLER"
  [ "$status" -eq 0 ]
  [[ $output == *"Usage: install.sh"* ]]
  run docker_ run --rm --network none --entrypoint ls "$INSTALLER" /opt/dune/bin
  [ "$(echo "$output" | sort | tr '\n' ' ')" = "containerd-shim-dune-v2 dune dune-init dune-run " ]
}

@test "image: the installer image installs working binaries into --root and uninstalls" {
  installer_built
  mkdir -p "$H/etc/containerd" "$H/etc/docker" "$H/usr/local/bin"
  printf 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "pause:local"\n' >"$H/etc/containerd/config.toml"
  printf '{"debug": false}\n' >"$H/etc/docker/daemon.json"
  before=$(snapshot "$H")
  run docker_ run --rm --network none -v "$H:/host" "$INSTALLER" --root /host \
    --containerd-config /etc/containerd/config.toml --docker-config /etc/docker/daemon.json
  echo "$output"
  [ "$status" -eq 0 ]
  # The installed copy runs on this host and is the version this tree builds.
  run "$H/usr/local/bin/dune" --version
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "$("$DUNE" --version | head -n1)" ]
  for b in dune-init dune-run; do [ "$(head -c4 "$H/usr/local/bin/$b" | tail -c3)" = ELF ]; done
  run "$H/usr/local/bin/containerd-shim-dune-v2" -v
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(toml_get "$H/etc/containerd/config.toml" plugins io.containerd.grpc.v1.cri containerd runtimes dune runtime_path)" = /usr/local/bin/containerd-shim-dune-v2 ]
  jq -e '.runtimes.dune.path == "/usr/local/bin/dune" and .debug == false' "$H/etc/docker/daemon.json"

  run docker_ run --rm --network none -v "$H:/host" "$INSTALLER" --root /host --uninstall
  echo "$output"
  [ "$status" -eq 0 ]
  diff <(echo "$before") <(snapshot "$H")
}

@test "image: the DaemonSet's command installs, cannot restart outside the host's PID namespace, and stays up" {
  installer_built
  mkdir -p "$H/usr/bin" "$H/etc/containerd"
  # A node with containerd and docker: the installer finds containerd under the host root
  # and, as the DaemonSet asks, leaves docker alone.
  cp "$(command -v containerd)" "$H/usr/bin/containerd"
  cp "$(command -v dockerd)" "$H/usr/bin/dockerd"
  cmd=$(python3 -c '
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))["spec"]["template"]["spec"]["containers"][0]
print("\0".join(c.get("command", []) + c.get("args", [])))' "$E2E_REPO/deploy/kubernetes/installer-daemonset.yaml" | tr '\0' '\n')
  mapfile -t argv <<<"$cmd"
  docker_ run -d --name "$NAME" --network none -v "$H:/host" --entrypoint "${argv[0]}" "$INSTALLER" "${argv[@]:1}" >/dev/null
  wait_file "$H/var/lib/dune/install.manifest" 30
  for _ in $(seq 50); do docker_ logs "$NAME" 2>&1 | grep -q 'done (manifest' && break; sleep 0.2; done
  run docker_ logs "$NAME"
  echo "$output"
  [[ $output == *"restart containerd on the host yourself"* ]]
  [[ $output == *"docker: left alone (--no-docker)"* ]]
  [ "$(docker_ inspect -f '{{.State.Running}}' "$NAME")" = true ]
  [ "$(toml_get "$H/etc/containerd/config.toml" plugins io.containerd.grpc.v1.cri containerd runtimes dune runtime_type)" = io.containerd.dune.v2 ]
  "$H/usr/local/bin/dune" --version >/dev/null
  docker_ rm -f "$NAME" >/dev/null
  docker_ run --rm --network none -v "$H:/host" "$INSTALLER" --root /host --uninstall >/dev/null
  [ ! -e "$H/etc/containerd/config.toml" ] && [ ! -e "$H/usr/local/bin/dune" ] && [ ! -e "$H/etc/docker" ]
}
