# Container images built locally from the busybox rootfs (no registry is reachable).
#   make_oci_image_tar OUT.tar   an OCI image layout tarball, tag "latest" (for ctr import)
#   make_rootfs_tar OUT.tar      a plain rootfs tarball (for docker import)
#   make_pause_image_tar OUT.tar an OCI image layout tarball, tag "latest", holding only /pause
#                                (e2e/tools/pause.c, static), entrypoint /pause: the CRI pod
#                                sandbox image
# Needs bundle.sh sourced first (make_rootfs), umoci, and gcc with the static glibc for pause.

make_oci_image_tar() {
  local out=$1 work
  work=$(mktemp -d "${TMPDIR:-/tmp}/dune-e2e-image.XXXXXX")
  umoci init --layout "$work/layout" &&
    umoci new --image "$work/layout:latest" &&
    umoci unpack --image "$work/layout:latest" "$work/bundle" >/dev/null &&
    rm -rf "$work/bundle/rootfs" &&
    make_rootfs "$work/bundle/rootfs" &&
    umoci repack --image "$work/layout:latest" "$work/bundle" &&
    umoci config --image "$work/layout:latest" --config.cmd sh \
      --config.env "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" &&
    umoci gc --layout "$work/layout" &&
    tar -C "$work/layout" -cf "$out" . || { rm -rf "$work"; return 1; }
  rm -rf "$work"
}

make_rootfs_tar() {
  local out=$1 work
  work=$(mktemp -d "${TMPDIR:-/tmp}/dune-e2e-rootfs.XXXXXX")
  make_rootfs "$work/rootfs" && tar -C "$work/rootfs" -cf "$out" . || { rm -rf "$work"; return 1; }
  rm -rf "$work"
}

# The pause binary is built once into build/e2e/ (rebuilt when pause.c changes).
PAUSE_BIN=${PAUSE_BIN:-$E2E_REPO/build/e2e/pause}

build_pause() {
  local src=$E2E_REPO/e2e/tools/pause.c
  if [[ ! -x $PAUSE_BIN || $src -nt $PAUSE_BIN ]]; then
    mkdir -p "$(dirname "$PAUSE_BIN")"
    gcc -static -O2 -Wall -Wextra -Werror -o "$PAUSE_BIN.tmp.$$" "$src" ||
      { echo "cannot build $src (gcc and the static glibc, libc6-dev, are needed)" >&2; return 1; }
    mv "$PAUSE_BIN.tmp.$$" "$PAUSE_BIN"
  fi
}

make_pause_image_tar() {
  local out=$1 work
  build_pause || return 1
  work=$(mktemp -d "${TMPDIR:-/tmp}/dune-e2e-pause.XXXXXX")
  umoci init --layout "$work/layout" &&
    umoci new --image "$work/layout:latest" &&
    umoci unpack --image "$work/layout:latest" "$work/bundle" >/dev/null &&
    install -m 0755 "$PAUSE_BIN" "$work/bundle/rootfs/pause" &&
    umoci repack --image "$work/layout:latest" "$work/bundle" &&
    umoci config --image "$work/layout:latest" --config.entrypoint /pause &&
    umoci gc --layout "$work/layout" &&
    tar -C "$work/layout" -cf "$out" . || { rm -rf "$work"; return 1; }
  rm -rf "$work"
}
