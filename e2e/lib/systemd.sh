#!/usr/bin/env bash
# A systemd to test the systemd cgroup driver against, and how to reach it.
#
#   sd CMD...             runs CMD where the systemd under test is pid 1: through
#                         $E2E_SYSTEMD_NSENTER (e.g. "nsenter -t PID -m -p -C") or, when that
#                         is empty, directly (a host or VM booted with systemd)
#   start_systemd_ns DIR [LAYOUT]
#                         boots Debian's systemd as pid 1 of private pid, mount and cgroup
#                         namespaces (this host runs no systemd): a cgroup of its own in every
#                         hierarchy named after DIR's last component, mounted inside in LAYOUT
#                         "hybrid" (default: the host's v1 controllers, name=systemd, cgroup2 at
#                         unified) or "v2" (only cgroup2 at /sys/fs/cgroup: systemd's unified
#                         mode; on this host it has no controllers, the v1 hierarchies hold
#                         them), a tmpfs /run, a unit set of one empty default.target; waits
#                         until `systemctl is-system-running` answers; sets SD_PID and
#                         E2E_SYSTEMD_NSENTER. Its console goes to DIR/console.log.
#   stop_systemd_ns       kills that systemd (its pid namespace ends with it) and removes its
#                         cgroups
#
# systemd needs to be pid 1 of its pid namespace to accept D-Bus peers (it looks their pids
# up), so every command that talks to it runs inside, through sd.

sd() {
  if [[ -n ${E2E_SYSTEMD_NSENTER:-} ]]; then
    # shellcheck disable=SC2086
    $E2E_SYSTEMD_NSENTER "$@"
  else
    "$@"
  fi
}

start_systemd_ns() {
  local dir=$1 layout=${2:-hybrid} name h n
  name=$(basename "$dir")
  SD_DIR=$dir SD_CGROUP=$name
  [[ -x /lib/systemd/systemd ]] || { echo "start_systemd_ns: /lib/systemd/systemd missing (apt-get install systemd)" >&2; return 1; }
  stop_systemd_ns
  rm -rf "$dir"
  mkdir -p "$dir"
  for h in /sys/fs/cgroup/*/; do
    mkdir -p "$h$name"
  done
  # A new cpuset cgroup has no CPUs until given its parent's.
  if [[ -d /sys/fs/cgroup/cpuset/$name ]]; then
    cat /sys/fs/cgroup/cpuset/cpuset.cpus >"/sys/fs/cgroup/cpuset/$name/cpuset.cpus"
    cat /sys/fs/cgroup/cpuset/cpuset.mems >"/sys/fs/cgroup/cpuset/$name/cpuset.mems"
  fi
  # pid 1 of the new namespaces mounts the host's cgroup layout afresh (rooted at the cgroup
  # namespace, so at the cgroups just made), a private /run, and becomes systemd.
  cat >"$dir/boot.sh" <<'BOOT'
set -e
dir=$1
hier=$(awk '$3 == "cgroup" && index($2, "/sys/fs/cgroup/") == 1 {print $2, $4}' /proc/self/mounts)
umount -R /sys/fs/cgroup
if [[ $2 == v2 ]]; then
  mount -t cgroup2 cgroup2 /sys/fs/cgroup
  hier=
else
  mount -t tmpfs -o mode=755 tmpfs /sys/fs/cgroup
fi
while read -r d opts; do
  o=$(tr , '\n' <<<"$opts" | grep -vxE 'rw|ro|relatime|nosuid|nodev|noexec' | paste -sd,)
  [[ $o == name=* ]] && o=none,$o
  mkdir -p "$d"
  mount -t cgroup -o "$o" cgroup "$d"
done < <([[ -n $hier ]] && printf '%s\n' "$hier")
if [[ $2 != v2 ]]; then
  mkdir -p /sys/fs/cgroup/unified
  mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified
fi
mount -t proc proc /proc
mount -t tmpfs tmpfs /run
# The unit set: one empty default target (the new /run hides the host's, so it is made here).
mkdir /run/dune-e2e-units
printf '[Unit]\nDescription=dune e2e systemd target\n' >/run/dune-e2e-units/default.target
exec env -i container=dune-e2e SYSTEMD_UNIT_PATH=/run/dune-e2e-units /lib/systemd/systemd --system --log-target=console --log-level=notice
BOOT
  # The launcher joins those cgroups first, so the cgroup namespace (systemd's "/") is rooted there.
  cat >"$dir/launch.sh" <<'LAUNCH'
for h in /sys/fs/cgroup/*/; do echo $$ >"$h$2/cgroup.procs"; done
exec unshare --cgroup --pid --mount --fork --propagation private bash "$1/boot.sh" "$1" "$3"
LAUNCH
  setsid bash "$dir/launch.sh" "$dir" "$name" "$layout" </dev/null >"$dir/console.log" 2>&1 3>&- &
  SD_LAUNCHER=$!
  n=0
  SD_PID=
  while ((n++ < 100)); do
    # unshare (the launcher, exec'd) forks pid 1 of the new namespace, which execs systemd.
    SD_PID=$(pgrep -P "$SD_LAUNCHER" 2>/dev/null | head -1 || true)
    if [[ -n $SD_PID ]] && nsenter -t "$SD_PID" -m -p -C systemctl is-system-running >/dev/null 2>&1; then
      E2E_SYSTEMD_NSENTER="nsenter -t $SD_PID -m -p -C"
      export SD_PID E2E_SYSTEMD_NSENTER
      echo "$SD_PID" >"$dir/pid"
      return 0
    fi
    sleep 0.1
  done
  echo "start_systemd_ns: systemd did not come up within 10 s; its console:" >&2
  cat "$dir/console.log" >&2
  return 1
}

stop_systemd_ns() {
  local pid d
  pid=${SD_PID:-}
  [[ -z $pid && -n ${SD_DIR:-} && -f $SD_DIR/pid ]] && pid=$(cat "$SD_DIR/pid")
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    # Killing pid 1 of a pid namespace ends every process in it.
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  fi
  SD_PID=
  [[ -n ${SD_CGROUP:-} ]] || return 0
  # Children first: systemd's slices and scopes below the namespace's own cgroup.
  for d in $(find /sys/fs/cgroup/ -depth -type d \( -path "*/$SD_CGROUP" -o -path "*/$SD_CGROUP/*" \) 2>/dev/null); do
    rmdir "$d" 2>/dev/null || true
  done
}
