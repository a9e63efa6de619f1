#!/usr/bin/env bats
# The systemd cgroup driver (--systemd-cgroup) against a real systemd: the container's cgroup
# is a transient unit made over D-Bus, with the resource properties on the unit and in the
# cgroup files, changed by update, stopped by delete; runc's driver on the same bundle is the
# reference for the unit's properties.
#
# Where systemd runs: E2E_SYSTEMD_NSENTER set -> commands run through it ("" = directly, on a
# host or VM booted with systemd, such as e2e/vm); unset -> on a host booted with systemd
# (/run/systemd/system) directly, else a systemd booted by e2e/lib/systemd.sh as pid 1 of
# private namespaces (this development host runs no systemd; E2E_SYSTEMD_LAYOUT=v2 boots it in
# unified mode, where this host's cgroup2 has no controllers: only the tests without resource
# limits can pass there, e.g. -f 'scope|pause|delete|exited|slice|malformed|errors'). It fails
# when no systemd can be had.

load lib/helpers
source "$E2E_REPO/e2e/lib/systemd.sh"

E2E_SYSTEMD_DIR=${E2E_SYSTEMD_DIR:-/run/dune-e2e-systemd}

setup_file() {
  e2e_require_env
  if [[ -z ${E2E_SYSTEMD_NSENTER+set} ]]; then
    if [[ -d /run/systemd/system ]]; then
      export E2E_SYSTEMD_NSENTER=
    else
      start_systemd_ns "$E2E_SYSTEMD_DIR" "${E2E_SYSTEMD_LAYOUT:-hybrid}"
    fi
  fi
  sd systemctl is-system-running >/dev/null || {
    echo "FATAL: no systemd reachable (E2E_SYSTEMD_NSENTER='${E2E_SYSTEMD_NSENTER:-}')" >&2
    return 1
  }
}

teardown_file() {
  [[ -n ${SD_PID:-} ]] && stop_systemd_ns
  return 0
}

setup() {
  common_setup
  make_bundle "$B" sh -c 'echo ready > /tmp/ready; while :; do sleep 0.1; done' >/dev/null
  UNIT=dune-$ID.scope
}

teardown() {
  local id
  if [[ -d $ROOT ]]; then
    for id in $(S list -q 2>/dev/null); do S delete --force "$id" >/dev/null 2>&1 || true; done
  fi
  for id in $(sd runc --root "$T/runc" list -q 2>/dev/null); do
    sd runc --root "$T/runc" --systemd-cgroup delete --force "$id" >/dev/null 2>&1 || true
  done
  common_teardown
}

# S ARGS...: dune --systemd-cgroup where systemd runs, with this test's --root and JSON log.
S() {
  sd "$DUNE" --root "$ROOT" --log "$LOG" --log-format json --systemd-cgroup "$@" 3>&-
}

# prop UNIT NAME: one property as `systemctl show` prints it.
prop() { sd systemctl show -p "$2" --value "$1"; }

# The unit's directory in a hierarchy where systemd runs (v1/hybrid: name=systemd; v2: the root).
unit_dir() {
  if [[ $(sd stat -fc %T /sys/fs/cgroup) == cgroup2fs ]]; then
    echo "/sys/fs/cgroup$(prop "$1" ControlGroup)"
  else
    echo "/sys/fs/cgroup/${2:-systemd}$(prop "$1" ControlGroup)"
  fi
}

is_v2() { [[ $(sd stat -fc %T /sys/fs/cgroup) == cgroup2fs ]]; }

start_ctr() {
  S run -d --bundle "$B" "$ID" </dev/null >"$T/$ID.out" 2>"$T/$ID.err" || { cat "$T/$ID.err" >&2; return 1; }
}

@test "run makes a transient scope in system.slice with Delegate=yes that holds the container" {
  start_ctr
  [ "$(prop "$UNIT" ActiveState)" = active ]
  [ "$(prop "$UNIT" Delegate)" = yes ]
  [ "$(prop "$UNIT" Slice)" = system.slice ]
  [ "$(prop "$UNIT" DefaultDependencies)" = no ]
  [ "$(prop "$UNIT" ControlGroup)" = "/system.slice/$UNIT" ]
  [ "$(prop "$UNIT" Description)" = "dune container $ID" ]
  # The state keeps the systemd form of the path.
  [ "$(jq -r .cgroupsPath "$ROOT/$ID/state.json")" = "system.slice:dune:$ID" ]
  pid=$(S state "$ID" | jq -r .pid)
  sd grep -qx "$pid" "$(unit_dir "$UNIT")/cgroup.procs"
  # systemd's own view: the pid belongs to the unit.
  sd systemctl status "$UNIT" --no-pager | grep -q "$pid"
}

@test "the resource properties systemd owns are on the unit and in the cgroup files" {
  bundle_jq "$B" '.linux.resources.memory = {limit: 67108864} | .linux.resources.pids = {limit: 50}
    | .linux.resources.cpu = {shares: 512, quota: 25000, period: 100000}'
  start_ctr
  [ "$(prop "$UNIT" TasksMax)" = 50 ]
  [ "$(prop "$UNIT" CPUQuotaPerSecUSec)" = 250ms ]
  [ "$(prop "$UNIT" CPUQuotaPeriodUSec)" = 100ms ]
  if is_v2; then
    [ "$(prop "$UNIT" MemoryMax)" = 67108864 ]
    [ "$(prop "$UNIT" CPUWeight)" = 20 ]
    d=$(unit_dir "$UNIT")
    [ "$(sd cat "$d/memory.max")" = 67108864 ]
    [ "$(sd cat "$d/pids.max")" = 50 ]
  else
    [ "$(prop "$UNIT" MemoryLimit)" = 67108864 ]
    [ "$(prop "$UNIT" CPUShares)" = 512 ]
    [ "$(sd cat "$(unit_dir "$UNIT" memory)/memory.limit_in_bytes")" = 67108864 ]
    [ "$(sd cat "$(unit_dir "$UNIT" pids)/pids.max")" = 50 ]
    [ "$(sd cat "$(unit_dir "$UNIT" cpu)/cpu.cfs_quota_us")" = 25000 ]
    # A hierarchy systemd leaves alone still gets the container's directory.
    pid=$(S state "$ID" | jq -r .pid)
    sd grep -qx "$pid" "$(unit_dir "$UNIT" freezer)/cgroup.procs"
  fi
}

@test "update sets the new limits on the unit and in the files" {
  bundle_jq "$B" '.linux.resources.memory = {limit: 67108864} | .linux.resources.pids = {limit: 50}'
  start_ctr
  S update --memory 134217728 --pids-limit 20 --cpu-share 256 "$ID"
  [ "$(prop "$UNIT" TasksMax)" = 20 ]
  if is_v2; then
    [ "$(prop "$UNIT" MemoryMax)" = 134217728 ]
    [ "$(sd cat "$(unit_dir "$UNIT")/pids.max")" = 20 ]
  else
    [ "$(prop "$UNIT" MemoryLimit)" = 134217728 ]
    [ "$(prop "$UNIT" CPUShares)" = 256 ]
    [ "$(sd cat "$(unit_dir "$UNIT" pids)/pids.max")" = 20 ]
    [ "$(sd cat "$(unit_dir "$UNIT" memory)/memory.limit_in_bytes")" = 134217728 ]
  fi
  # The container keeps running through it.
  [ "$(S state "$ID" | jq -r .status)" = running ]
}

@test "linux.resources.devices become DevicePolicy=strict with runc's DeviceAllow entries" {
  start_ctr
  [ "$(prop "$UNIT" DevicePolicy)" = strict ]
  allow=$(sd systemctl show -p DeviceAllow "$UNIT")
  echo "$allow"
  grep -qx 'DeviceAllow=/dev/char/1:3 rwm' <<<"$allow"
  grep -qx 'DeviceAllow=char-pts rwm' <<<"$allow"
  grep -qx 'DeviceAllow=char-\* m' <<<"$allow"
  # And the container can use an allowed device and not a denied one.
  S exec "$ID" sh -c 'echo x > /dev/null'
  run S exec "$ID" sh -c 'mknod /tmp/sda b 8 0 && head -c1 /tmp/sda'
  [ "$status" -ne 0 ]
}

@test "pause, resume and ps work through the unit's cgroup" {
  start_ctr
  S pause "$ID"
  [ "$(S state "$ID" | jq -r .status)" = paused ]
  S resume "$ID"
  [ "$(S state "$ID" | jq -r .status)" = running ]
  pid=$(S state "$ID" | jq -r .pid)
  S ps --format json "$ID" | jq -e --argjson p "$pid" 'index($p) != null'
}

@test "delete stops the unit and leaves no cgroup directory" {
  start_ctr
  dirs=$(sd find /sys/fs/cgroup -type d -name "$UNIT")
  [ -n "$dirs" ]
  S delete --force "$ID"
  [ "$(prop "$UNIT" LoadState)" = not-found ]
  [ -z "$(sd find /sys/fs/cgroup -type d -name "$UNIT")" ]
  run S state "$ID"
  [ "$status" -ne 0 ]
}

@test "a container that exited takes its scope with it; delete still succeeds" {
  bundle_set_args "$B" true
  S run --bundle "$B" "$ID" </dev/null
  [ "$(prop "$UNIT" LoadState)" = not-found ] || [ "$(prop "$UNIT" ActiveState)" != active ]
  [ -z "$(sd find /sys/fs/cgroup -type d -name "$UNIT")" ]
  run S state "$ID"
  [ "$status" -ne 0 ]
}

@test "slice:prefix:name picks the slice and the unit name; a name.slice makes a slice" {
  bundle_jq "$B" --arg id "$ID" '.linux.cgroupsPath = "dune_e2e.slice:e2e:" + $id'
  start_ctr
  [ "$(prop "e2e-$ID.scope" Slice)" = dune_e2e.slice ]
  [ "$(prop "e2e-$ID.scope" ControlGroup)" = "/dune_e2e.slice/e2e-$ID.scope" ]
  S delete --force "$ID"
  bundle_jq "$B" --arg id "$ID" '.linux.cgroupsPath = "dune_e2e.slice:x:dune_e2e-s" + ($id | gsub("-"; "_")) + ".slice"'
  slice=dune_e2e-s${ID//-/_}.slice
  start_ctr
  [ "$(prop "$slice" ActiveState)" = active ]
  [ "$(prop "$slice" ControlGroup)" = "/dune_e2e.slice/$slice" ]
  pid=$(S state "$ID" | jq -r .pid)
  sd grep -qx "$pid" "$(unit_dir "$slice")/cgroup.procs"
  S delete --force "$ID"
  [ "$(prop "$slice" LoadState)" = not-found ] || [ "$(prop "$slice" ActiveState)" = inactive ]
}

@test "the unit's properties match runc --systemd-cgroup on the same bundle" {
  bundle_jq "$B" '.linux.resources.memory = {limit: 67108864} | .linux.resources.pids = {limit: 40}
    | .linux.resources.cpu = {shares: 300, quota: 33333, period: 100000}'
  start_ctr
  sd runc --root "$T/runc" --systemd-cgroup run -d --bundle "$B" "$ID" </dev/null >/dev/null 2>"$T/runc.err" || { cat "$T/runc.err"; false; }
  for p in Slice Delegate DefaultDependencies KillMode DevicePolicy MemoryLimit MemoryMax TasksMax CPUShares CPUWeight \
           CPUQuotaPerSecUSec CPUQuotaPeriodUSec MemoryAccounting CPUAccounting TasksAccounting CollectMode; do
    ours=$(prop "$UNIT" "$p")
    theirs=$(prop "runc-$ID.scope" "$p")
    echo "$p: dune '$ours' runc '$theirs'"
    [ "$ours" = "$theirs" ]
  done
  # The rules become the same entries. dune's default device list (the same with either driver)
  # differs from runc's in two devices: /dev/console (5:1) allowed, /dev/net/tun (10:200) not.
  diff <(sd systemctl show -p DeviceAllow "$UNIT" | grep -vx 'DeviceAllow=/dev/char/5:1 rwm' | sort) \
       <(sd systemctl show -p DeviceAllow "runc-$ID.scope" | grep -vx 'DeviceAllow=/dev/char/10:200 rwm' | sort)
}

@test "a malformed systemd cgroupsPath is refused with the expected form, nothing left" {
  bundle_jq "$B" '.linux.cgroupsPath = "/not/systemd"'
  run --separate-stderr S run -d --bundle "$B" "$ID" </dev/null
  [ "$status" -ne 0 ]
  [[ $stderr == *'must have the form \"slice:prefix:name\"'* || $stderr == *'must have the form "slice:prefix:name"'* ]]
  [ ! -e "$ROOT/$ID" ]
}

@test "errors: systemd not running, and systemd's socket not reachable, fail clearly and leave nothing" {
  # On the host side of the namespace there is no systemd at all.
  if [[ ! -d /run/systemd/system ]]; then
    run --separate-stderr "$DUNE" --root "$ROOT" --systemd-cgroup run -d --bundle "$B" "$ID" </dev/null
    [ "$status" -ne 0 ]
    [[ $stderr == *"systemd"*"not running"* ]]
    [ ! -e "$ROOT/$ID" ]
  fi
  # Where systemd runs but its D-Bus socket cannot be reached.
  run --separate-stderr sd env DUNE_SYSTEMD_DBUS_ADDRESS=unix:path=/nonexistent/systemd/private \
    "$DUNE" --root "$ROOT" --log "$LOG" --log-format json --systemd-cgroup run -d --bundle "$B" "$ID" </dev/null
  echo "$stderr"
  [ "$status" -ne 0 ]
  [[ $stderr == *"cannot talk to systemd over D-Bus at unix:path=/nonexistent/systemd/private"* ]]
  jq -e 'select(.level == "error") | .msg | contains("cannot talk to systemd")' "$LOG"
  [ ! -e "$ROOT/$ID" ]
  [ -z "$(sd find /sys/fs/cgroup -name "*$ID*")" ]
  [ "$(prop "$UNIT" LoadState)" = not-found ]
}
