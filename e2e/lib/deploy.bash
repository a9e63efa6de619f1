# Helpers for deploy.bats and image.bats: a private dockerd for the deployment tests and the
# two base images the Dockerfile needs, built locally (no registry is reachable).
#
#   DEPLOY_DK_DIR / DEPLOY_DK_DATA   that dockerd's exec-root/socket dir and data-root
#                                    (E2E_DOCKER_DIR / E2E_DOCKER_DATA override them)
#   start_deploy_dockerd CONFIG      start_dockerd on those dirs with daemon.json CONFIG
#   import_debian_image              $DEBIAN_IMAGE = `docker import` of debian.sh's rootfs.tar
#   import_sdk_image                 $SDK_IMAGE = that Debian plus this host's .NET SDK
#                                    (/usr/share/dotnet, dotnet on PATH) and CA certificates
# Needs daemons.sh and debian.sh sourced.

DEPLOY_DK_DIR=${E2E_DOCKER_DIR:-/run/dune-e2e/docker-deploy}
DEPLOY_DK_DATA=${E2E_DOCKER_DATA:-/var/lib/dune-e2e/docker-deploy}
DEBIAN_IMAGE=dune-e2e/debian:bookworm
SDK_IMAGE=dune-e2e/dotnet-sdk:local
DOTNET_HOME=${DOTNET_HOME:-/usr/share/dotnet}

start_deploy_dockerd() { start_dockerd "$DEPLOY_DK_DIR" "$DEPLOY_DK_DATA" "$1"; }

# The image is rebuilt when the rootfs tarball changed (label = its checksum).
import_debian_image() {
  local sum have
  debian_build || return 1
  sum=$(sha256sum "$E2E_DEBIAN/rootfs.tar" | cut -d' ' -f1)
  have=$(docker_ image inspect -f '{{index .Config.Labels "rootfs.sha256"}}' "$DEBIAN_IMAGE" 2>/dev/null) || have=
  [[ $have == "$sum" ]] && return 0
  docker_ import --change "LABEL rootfs.sha256=$sum" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' "$E2E_DEBIAN/rootfs.tar" "$DEBIAN_IMAGE" >/dev/null
}

# The SDK image: the Debian image plus the host's SDK, copied in by a container and committed.
# The host's CA bundle comes along: NuGet's mirror may be reached through a proxy whose CA only
# the host trusts. Rebuilt when the Debian image or the SDK version changes.
import_sdk_image() {
  local want have name=dune-e2e-sdk-$$
  [[ -x $DOTNET_HOME/dotnet ]] || { echo "FATAL: no .NET SDK in $DOTNET_HOME" >&2; return 1; }
  import_debian_image || return 1
  want="$(docker_ image inspect -f '{{.Id}}' "$DEBIAN_IMAGE")/$("$DOTNET_HOME/dotnet" --version)"
  have=$(docker_ image inspect -f '{{index .Config.Labels "sdk.source"}}' "$SDK_IMAGE" 2>/dev/null) || have=
  [[ $have == "$want" ]] && return 0
  docker_ rm -f "$name" >/dev/null 2>&1 || true
  # The certificates are symlinks into other host dirs: hand the container resolved copies.
  rm -rf "$DK_DIR/certs"
  cp -rL /etc/ssl/certs "$DK_DIR/certs" || return 1
  docker_ run --name "$name" --network none \
    -v "$DOTNET_HOME:/mnt/dotnet:ro" -v "$DK_DIR/certs:/mnt/certs:ro" "$DEBIAN_IMAGE" \
    sh -c 'cp -a /mnt/dotnet /usr/share/dotnet && ln -sf /usr/share/dotnet/dotnet /usr/bin/dotnet &&
           mkdir -p /etc/ssl && rm -rf /etc/ssl/certs && cp -r /mnt/certs /etc/ssl/certs' || return 1
  docker_ commit --change "LABEL sdk.source=$want" \
    --change 'ENV DOTNET_ROOT=/usr/share/dotnet DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1' \
    "$name" "$SDK_IMAGE" >/dev/null
  local rc=$?
  docker_ rm -f "$name" >/dev/null
  return "$rc"
}

# snapshot DIR: every entry under DIR with its type, mode, owner and content checksum, so that
# two snapshots are equal only if the trees are byte for byte the same.
snapshot() {
  (cd "$1" && find . -printf '%y %m %u:%g %p %l\n' | sort &&
    find . -type f -print0 | sort -z | xargs -0r sha256sum)
}

# toml_get FILE KEY...: the value at that key path (python3's tomllib), or exit 1.
toml_get() {
  python3 -c '
import sys, tomllib
v = tomllib.load(open(sys.argv[1], "rb"))
for k in sys.argv[2:]:
    v = v[k]
print(v)' "$@"
}
