#!/usr/bin/env bash
# A Debian bookworm image built locally (no registry is reachable): debootstrap
# --variant=minbase with $DEBIAN_INCLUDE (python3; procps for ps, pgrep and pidof), from the
# Debian mirror apt is configured with.
#
# Source it for the functions, or run it: `debian.sh` builds (or reuses) the cache and prints
# its directory.
#
#   debian_build             builds once into $E2E_DEBIAN (default build/e2e/debian):
#                              rootfs/       the debootstrapped tree (never written by tests)
#                              rootfs.tar    that tree as a tarball (for `docker import`; also
#                                            the single layer of the OCI image)
#                              oci.tar       an OCI image layout tarball, tag "latest" (ctr import)
#                              seconds       how long debootstrap took here
#                              include       the packages added to minbase (a different list
#                                            rebuilds the cache)
#   debian_mirror            the first Debian mirror URI in apt's sources (override: DEBIAN_MIRROR)
#   make_debian_rootfs DIR   DIR/ = a copy of the cached rootfs (tests write into their copy)
#
# Rebuild by removing $E2E_DEBIAN. Needs debootstrap, jq, sha256sum.

E2E_REPO=${E2E_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
E2E_DEBIAN=${E2E_DEBIAN:-$E2E_REPO/build/e2e/debian}
DEBIAN_SUITE=${DEBIAN_SUITE:-bookworm}
DEBIAN_INCLUDE=python3,procps

# Prints the URI of the first apt source (one-line sources.list or deb822 *.sources) that
# carries $DEBIAN_SUITE itself (not -security or -updates).
debian_mirror() {
  if [[ -n ${DEBIAN_MIRROR:-} ]]; then echo "$DEBIAN_MIRROR"; return 0; fi
  local f uri
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    uri=$(awk -v s="$DEBIAN_SUITE" '
        $1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                      if ($(i + 1) == s) { print $i; exit } }' "$f")
    [[ -n $uri ]] && { echo "$uri"; return 0; }
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    # deb822: paragraphs separated by blank lines; URIs and Suites fields.
    uri=$(awk -v s="$DEBIAN_SUITE" '
        function flush() { if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " s " ") && uris != "") { split(uris, u, " "); print u[1]; found = 1; exit } types = uris = suites = "" }
        /^[ \t]*#/ { next }
        /^[ \t]*$/ { flush(); next }
        /^Types:/  { sub(/^Types:[ \t]*/, ""); types = $0 }
        /^URIs:/   { sub(/^URIs:[ \t]*/, ""); uris = $0 }
        /^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
        END { if (!found) flush() }' "$f")
    [[ -n $uri ]] && { echo "$uri"; return 0; }
  done
  echo "debian.sh: no apt source for $DEBIAN_SUITE in /etc/apt (set DEBIAN_MIRROR)" >&2
  return 1
}

# OCI image layout in DIR with ROOTFS_TAR as its only (uncompressed) layer.
debian_oci_layout() {
  local dir=$1 tar=$2 layer_digest layer_size config manifest cdig mdig
  mkdir -p "$dir/blobs/sha256"
  layer_digest=$(sha256sum "$tar" | cut -d' ' -f1)
  layer_size=$(stat -c %s "$tar")
  ln -f "$tar" "$dir/blobs/sha256/$layer_digest" 2>/dev/null || cp "$tar" "$dir/blobs/sha256/$layer_digest"
  config=$(jq -cn --arg diff "sha256:$layer_digest" '{
      architecture: "amd64", os: "linux",
      config: {Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["bash"]},
      rootfs: {type: "layers", diff_ids: [$diff]}}')
  printf '%s' "$config" >"$dir/config.tmp"
  cdig=$(sha256sum "$dir/config.tmp" | cut -d' ' -f1)
  mv "$dir/config.tmp" "$dir/blobs/sha256/$cdig"
  manifest=$(jq -cn --arg c "sha256:$cdig" --argjson cs "${#config}" --arg l "sha256:$layer_digest" --argjson ls "$layer_size" '{
      schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
      layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $l, size: $ls}]}')
  printf '%s' "$manifest" >"$dir/manifest.tmp"
  mdig=$(sha256sum "$dir/manifest.tmp" | cut -d' ' -f1)
  mv "$dir/manifest.tmp" "$dir/blobs/sha256/$mdig"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
  jq -n --arg m "sha256:$mdig" --argjson ms "${#manifest}" '{
      schemaVersion: 2,
      manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $m, size: $ms,
                   annotations: {"org.opencontainers.image.ref.name": "latest"}}]}' >"$dir/index.json"
}

debian_build() {
  [[ -f $E2E_DEBIAN/done && $(cat "$E2E_DEBIAN/include" 2>/dev/null) == "$DEBIAN_INCLUDE" ]] && return 0
  command -v debootstrap >/dev/null || { echo "debian.sh: debootstrap missing (e2e/install-deps.sh)" >&2; return 1; }
  local mirror tmp t0 t1
  mirror=$(debian_mirror) || return 1
  tmp=$E2E_DEBIAN.tmp.$$
  rm -rf "$tmp"
  mkdir -p "$tmp"
  echo "debian.sh: debootstrap --variant=minbase --include=$DEBIAN_INCLUDE $DEBIAN_SUITE from $mirror" >&2
  t0=$(date +%s)
  if ! debootstrap --variant=minbase --include="$DEBIAN_INCLUDE" "$DEBIAN_SUITE" "$tmp/rootfs" "$mirror" \
      >"$tmp/debootstrap.log" 2>&1; then
    echo "debian.sh: debootstrap failed; the end of its log:" >&2
    tail -n 30 "$tmp/debootstrap.log" >&2
    [[ -f $tmp/rootfs/debootstrap/debootstrap.log ]] && tail -n 30 "$tmp/rootfs/debootstrap/debootstrap.log" >&2
    rm -rf "$tmp"
    return 1
  fi
  t1=$(date +%s)
  echo $((t1 - t0)) >"$tmp/seconds"
  echo "$DEBIAN_INCLUDE" >"$tmp/include"
  # The image needs no package cache; apt lists are kept out too (no network in tests).
  rm -rf "$tmp/rootfs/var/cache/apt/archives/"*.deb "$tmp/rootfs/var/lib/apt/lists/"*
  tar -C "$tmp/rootfs" --numeric-owner --sort=name -cf "$tmp/rootfs.tar" . || { rm -rf "$tmp"; return 1; }
  debian_oci_layout "$tmp/layout" "$tmp/rootfs.tar" &&
    tar -C "$tmp/layout" -cf "$tmp/oci.tar" . || { rm -rf "$tmp"; return 1; }
  rm -rf "$tmp/layout"
  touch "$tmp/done"
  rm -rf "$E2E_DEBIAN"
  mkdir -p "$(dirname "$E2E_DEBIAN")"
  mv "$tmp" "$E2E_DEBIAN"
  echo "debian.sh: debootstrap took $(cat "$E2E_DEBIAN/seconds") s; image in $E2E_DEBIAN" >&2
}

make_debian_rootfs() {
  debian_build || return 1
  mkdir -p "$(dirname "$1")"
  cp -a "$E2E_DEBIAN/rootfs" "$1"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  debian_build
  echo "$E2E_DEBIAN"
fi
