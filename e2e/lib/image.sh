# Container images built locally from the busybox rootfs (no registry is reachable).
#   make_oci_image_tar OUT.tar   an OCI image layout tarball, tag "latest" (for ctr import)
#   make_rootfs_tar OUT.tar      a plain rootfs tarball (for docker import)
# Needs bundle.sh sourced first (make_rootfs) and umoci.

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
