#!/usr/bin/env bash
# Installs the Debian packages that building, the demo and the tests need. Idempotent:
# does nothing when everything is present. Must run as root on Debian 12.
set -euo pipefail
packages=(build-essential pkg-config libseccomp-dev busybox-static jq bats procps util-linux
          runc crun runsc containerd docker.io hyperfine musl-tools strace gdb umoci gnuplot-nox
          debootstrap libc6-dev iproute2 python3 python3-yaml bpftool systemd
          qemu-system-x86 cpio e2fsprogs)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v dotnet >/dev/null || { echo "install-deps: the .NET SDK (dotnet) is required" >&2; exit 1; }
