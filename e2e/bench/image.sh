#!/usr/bin/env bash
# The server image of `make bench` (e2e/bench/servers.sh, e2e/bench/ops.sh): Debian bookworm
# built locally (no registry is reachable), e2e/lib/debian.sh's debootstrapped rootfs plus
# PostgreSQL 15, Redis, nginx-light, gcc and wrk installed by apt-get inside a chroot, with a
# pgbench database (scale 1) initialised once in the image.
#
# Source it for the functions, or run it: `image.sh` builds (or reuses) the cache and prints
# its directory.
#
#   bench_image_build   builds once into $BENCH_IMAGE (default build/e2e/bench-debian):
#                         rootfs/    the tree (bundles use it read-only; never written by runs)
#                         seconds    how long the build took here
#                         packages   name and version of the server packages installed
#
# Inside the image: /srv/pgdata (a PostgreSQL data directory with pgbench's tables, owned by
# the postgres user, copied into a tmpfs by every server run), /etc/nginx/bench.conf (nginx on
# 127.0.0.1:$BENCH_NGINX_PORT, one worker (run as www-data by the bundle), Debian's 615-byte index page, no logs), /opt/bench (an empty
# mount point for the micro-benchmark binary) and /usr/sbin/policy-rc.d (no service starts
# while packages are installed). Rebuild by removing $BENCH_IMAGE. Needs root, debootstrap.

E2E_REPO=${E2E_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BENCH_IMAGE=${BENCH_IMAGE:-$E2E_REPO/build/e2e/bench-debian}
BENCH_IMAGE_PACKAGES=(postgresql-15 redis-server nginx-light wrk gcc libc6-dev)
BENCH_NGINX_PORT=${BENCH_NGINX_PORT:-18080}
source "$E2E_REPO/e2e/lib/debian.sh"

# bench_chroot ROOT CMD...: CMD inside ROOT with /proc and /dev, in a private mount namespace
# (the mounts disappear with it).
bench_chroot() {
  local root=$1; shift
  unshare --mount --propagation private bash -c '
    root=$1; shift
    mount -t proc proc "$root/proc" && mount --rbind /dev "$root/dev" &&
      mount -t tmpfs tmpfs "$root/tmp" && exec chroot "$root" "$@"' bench-chroot "$root" "$@"
}

bench_image_build() {
  [[ -f $BENCH_IMAGE/done ]] && return 0
  debian_build || return 1
  local tmp=$BENCH_IMAGE.tmp.$$ t0 t1 root
  rm -rf "$tmp"
  mkdir -p "$tmp"
  root=$tmp/rootfs
  t0=$(date +%s)
  echo "image.sh: apt-get install ${BENCH_IMAGE_PACKAGES[*]} into a copy of $E2E_DEBIAN/rootfs" >&2
  cp -a "$E2E_DEBIAN/rootfs" "$root"
  # No package's maintainer script may start its service on the host's network.
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 0755 "$root/usr/sbin/policy-rc.d"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  if ! bench_chroot "$root" env DEBIAN_FRONTEND=noninteractive sh -c \
      "apt-get update -qq && apt-get install -y -qq --no-install-recommends ${BENCH_IMAGE_PACKAGES[*]}" \
      >"$tmp/apt.log" 2>&1; then
    echo "image.sh: apt-get in the chroot failed; the end of its log:" >&2
    tail -n 30 "$tmp/apt.log" >&2
    rm -rf "$tmp"
    return 1
  fi
  # pgbench's tables, made once by a PostgreSQL started on a Unix socket only (no TCP port).
  mkdir -m 0700 "$root/srv/pgdata.new"
  chroot "$root" chown postgres:postgres /srv/pgdata.new
  if ! bench_chroot "$root" su postgres -s /bin/sh -c '
      set -e
      b=/usr/lib/postgresql/15/bin
      $b/initdb -D /srv/pgdata.new --auth=trust -U postgres >/dev/null
      $b/pg_ctl -D /srv/pgdata.new -o "-c listen_addresses= -k /tmp" -w start >/dev/null
      $b/pgbench -h /tmp -U postgres -i -s 1 -q postgres 2>&1 | tail -n 1
      $b/pg_ctl -D /srv/pgdata.new -m fast -w stop >/dev/null' \
      >"$tmp/pgbench-init.log" 2>&1 || [[ ! -f $root/srv/pgdata.new/PG_VERSION ]]; then
    echo "image.sh: the pgbench database could not be made; its log:" >&2
    cat "$tmp/pgbench-init.log" >&2
    rm -rf "$tmp"
    return 1
  fi
  mv "$root/srv/pgdata.new" "$root/srv/pgdata"
  cat >"$root/etc/nginx/bench.conf" <<NGINX
daemon off;
master_process on;
worker_processes 1;
pid /tmp/nginx.pid;
error_log stderr warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path /tmp;
    proxy_temp_path /tmp;
    fastcgi_temp_path /tmp;
    uwsgi_temp_path /tmp;
    scgi_temp_path /tmp;
    server {
        listen 127.0.0.1:$BENCH_NGINX_PORT;
        root /var/www/html;
        location / { index index.nginx-debian.html; }
    }
}
NGINX
  mkdir -p "$root/opt/bench"
  echo "nameserver 127.0.0.1" >"$root/etc/resolv.conf"
  rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
  chroot "$root" dpkg-query -W -f='${Package} ${Version}\n' "${BENCH_IMAGE_PACKAGES[@]}" >"$tmp/packages"
  t1=$(date +%s)
  echo $((t1 - t0)) >"$tmp/seconds"
  touch "$tmp/done"
  rm -rf "$BENCH_IMAGE"
  mv "$tmp" "$BENCH_IMAGE"
  echo "image.sh: the bench image took $(cat "$BENCH_IMAGE/seconds") s; in $BENCH_IMAGE" >&2
}

# bench_bundle DIR BIN ARG...: a bundle in DIR whose process runs ARG... in the image (root
# read-only, shared by every bundle), with a fresh tmpfs on /tmp and the directory BIN bound
# read-only on /opt/bench. ociVersion is pinned to what every peer accepts (run.sh). Needs
# bundle.sh (bundle_jq, bundle_set_args) and $DUNE.
bench_bundle() {
  local dir=$1 bin=$2; shift 2
  mkdir -p "$dir"
  rm -f "$dir/config.json"
  "$DUNE" spec --bundle "$dir" || return 1
  bundle_set_args "$dir" "$@"
  bundle_jq "$dir" --arg r "$BENCH_IMAGE/rootfs" --arg b "$bin" '
    .ociVersion = "1.0.2-dev" | .process.terminal = false
    | .root = {path: $r, readonly: true}
    | .mounts += [
        {destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777"]},
        {destination: "/opt/bench", type: "bind", source: $b, options: ["rbind", "ro"]}]'
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  [[ $(id -u) == 0 ]] || { echo "image.sh: must run as root" >&2; exit 1; }
  bench_image_build
  echo "$BENCH_IMAGE"
fi
