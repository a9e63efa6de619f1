#!/usr/bin/env bats
# cgroup v2 device rules on a pure cgroup v2 view of this host. Every runtime command runs in a
# private mount namespace where /sys/fs/cgroup is the cgroup2 hierarchy (the host's hybrid
# "unified" one, mounted again) and nothing else, so the runtime sees a pure v2 host: device
# rules become an eBPF program attached to the container's cgroup. The containers get the device
# list a real `docker run` sends (e2e/lib/docker-devices.json, captured from Debian's dockerd
# 20.10) and CAP_MKNOD as docker gives it. Checked: allowed devices work, nodes of denied devices
# can be made (every runtime allows mknod, runc too) but not opened (EPERM), `update` replaces the
# program and the new rules hold, and after delete the programs are gone (bpftool).
# containerd (`ctr run`) and dockerd (`docker run --runtime=dune`) are started the same way, in a
# namespace of their own, with private dirs under $V2_DAEMONS (daemons.sh's launcher; a wrapper
# first on its PATH unshares). DUNE=runc runs the same tests against runc; those tagged [dune-contract] go beyond runc 1.1
# (its `update` ignores linux.resources.devices) and fail there by design.

load lib/helpers
load lib/dune
source "$E2E_REPO/e2e/lib/image.sh"
source "$E2E_REPO/e2e/lib/daemons.sh"

UNIFIED=/sys/fs/cgroup/unified
# The containers' cgroups: /sys/fs/cgroup/$V2_PARENT/ID inside, $UNIFIED/$V2_PARENT/ID on the host.
V2_PARENT=${E2E_CGROUP2_PARENT:-dune-e2e-cgroup2}

# The daemons' dirs (socket, state, exec root) and docker's data root.
V2_DAEMONS=${E2E_CGROUP2_DAEMONS:-/run/dune-e2e-cgroup2}
V2_DOCKER_DATA=${E2E_CGROUP2_DOCKER_DATA:-/var/tmp/dune-e2e-cgroup2-docker}
CD_NS=dune-e2e-cgroup2
IMAGE=localhost/dune-e2e/busybox:latest

setup_file() {
  e2e_require_env
  command -v bpftool >/dev/null || { echo "FATAL: bpftool missing (e2e/install-deps.sh)" >&2; return 1; }
  command -v unshare >/dev/null || { echo "FATAL: unshare missing (util-linux)" >&2; return 1; }
  awk -v m="$UNIFIED" '$5 == m && / - cgroup2 / {found = 1} END {exit !found}' /proc/self/mountinfo ||
    { echo "FATAL: no cgroup2 hierarchy mounted at $UNIFIED" >&2; return 1; }
}

# V2 CMD...: CMD in a private mount namespace whose /sys/fs/cgroup is the cgroup2 hierarchy alone
# (the v1 mounts and the tmpfs under them unmounted there, so mountinfo shows no v1 hierarchy).
V2() {
  unshare --mount --propagation private sh -c \
    'umount -R /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec "$@"' v2 "$@" 3>&-
}

# v2_wrapper DIR NAME BINARY [EXTRA]: DIR/NAME runs BINARY in a namespace as V2 makes it (EXTRA: more
# shell run there first). A directory per daemon: dockerd must find the real containerd it starts.
v2_wrapper() {
  mkdir -p "$1"
  cat >"$1/$2" <<W
#!/bin/sh
exec unshare --mount --propagation private sh -c 'umount -R /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup && $4 exec $3 "\$@"' $2 "\$@"
W
  chmod +x "$1/$2"
}

# R2 ARGS...: the runtime under test on the pure v2 view, with this test's --root and JSON log.
R2() {
  V2 "$DUNE" --root "$ROOT" --log "$LOG" --log-format json "$@"
}

setup() {
  common_setup
  require_kvm
  make_bundle "$B" sh -c 'while :; do sleep 1; done' >/dev/null
  CG=/$V2_PARENT/$ID
  HOSTDIR=$UNIFIED$CG
  bundle_jq "$B" --arg cg "$CG" --slurpfile d "$E2E_REPO/e2e/lib/docker-devices.json" '
    .linux.cgroupsPath = $cg
    | .linux.resources.devices = $d[0]
    | .process.capabilities.bounding += ["CAP_MKNOD"]
    | .process.capabilities.effective += ["CAP_MKNOD"]
    | .process.capabilities.permitted += ["CAP_MKNOD"]'
}

teardown() {
  local id
  if [[ -n ${CID:-} ]]; then
    remove_task "$CID"
    [[ -z ${BATS_TEST_COMPLETED:-} ]] && tail -n 20 "$CD_DIR/containerd.log" || true
    stop_containerd
  fi
  if [[ -n ${DNAME:-} ]]; then
    docker_ rm -f "$DNAME" >/dev/null 2>&1 || true
    [[ -z ${BATS_TEST_COMPLETED:-} ]] && tail -n 20 "$DK_DIR/dockerd.log" || true
    stop_dockerd
  fi
  if [[ -d $ROOT ]]; then
    for id in $(R2 list -q 2>/dev/null); do
      R2 delete --force "$id" >/dev/null 2>&1 || echo "teardown: delete --force $id failed" >&2
    done
  fi
  common_teardown
  rmdir "$UNIFIED/$V2_PARENT" 2>/dev/null || true
}

# in_ctr2 ARGS...: a one-shot `run` of ARGS on the v2 view; output in $output, $stderr, $status.
in_ctr2() {
  bundle_set_args "$B" "$@"
  run --separate-stderr R2 run --bundle "$B" "$ID" </dev/null
  echo "run $*: status $status"
  echo "stdout: $output"
  echo "stderr: $stderr"
}

# start2: create + start of the bundle's long-running process on the v2 view.
start2() {
  R2 create --bundle "$B" "$ID" </dev/null >"$T/$ID.out" 2>"$T/$ID.err" || { cat "$T/$ID.err" >&2; return 1; }
  R2 start "$ID"
}

# The ids of the device programs attached to the container's cgroup itself, one a line.
device_programs() {
  bpftool cgroup show "$HOSTDIR" | awk '$2 == "cgroup_device" || $2 == "device" {print $1}'
}

# update2 FILE: `update -r FILE`, with the JSON written from stdin.
update2() {
  cat >"$T/resources.json"
  R2 update -r "$T/resources.json" "$ID"
}

# The probe every device test runs: each line says what worked or the error busybox printed.
PROBE='echo x > /dev/null && echo null-ok
head -c 4 /dev/zero | wc -c
head -c 4 /dev/urandom | wc -c
cat /dev/tty 2>&1
mknod /dev/sda b 8 0 && echo mknod-sda-ok
head -c 1 /dev/sda 2>&1
mknod /dev/mem c 1 1 && echo mknod-mem-ok
head -c 1 /dev/mem 2>&1
true'

check_probe() {
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = null-ok ]
  [ "${lines[1]}" = 4 ]
  [ "${lines[2]}" = 4 ]
  # No controlling terminal: the device answers ENXIO, so the cgroup let the open through.
  [[ ${lines[3]} == *"/dev/tty"*"No such device or address"* ]]
  [ "${lines[4]}" = mknod-sda-ok ]
  [[ ${lines[5]} == *"/dev/sda"*"Operation not permitted"* ]]
  [ "${lines[6]}" = mknod-mem-ok ]
  [[ ${lines[7]} == *"/dev/mem"*"Operation not permitted"* ]]
  [ "${#lines[@]}" -eq 8 ]
}

@test "docker's device rules, Dune mode: allowed devices work, /dev/sda and /dev/mem nodes are refused on open" {
  in_ctr2 sh -c "$PROBE"
  check_probe
  # The cgroup and its program are gone with the container.
  [ ! -d "$HOSTDIR" ]
}

@test "docker's device rules, native mode: the same" {
  bundle_jq "$B" '.annotations = {"run.dune.mode": "native"}'
  in_ctr2 sh -c "$PROBE"
  check_probe
  [ ! -d "$HOSTDIR" ]
  # ...and it was native: the same bundle's process is the program, with no KVM.
  bundle_set_args "$B" sh -c 'echo started; while :; do sleep 0.1; done'
  start2
  wait_file "$T/$ID.out"
  is_native_process "$(R2 state "$ID" | jq -r .pid)"
  R2 delete --force "$ID"
  [ ! -d "$HOSTDIR" ]
}

@test "a running container has exactly one device program on its cgroup, and delete leaves none" {
  start2
  wait_status "$ID" running
  mapfile -t ids < <(device_programs)
  echo "programs: ${ids[*]}"
  [ "${#ids[@]}" -eq 1 ]
  if [[ $DUNE != *runc ]]; then
    is_dune_process "$(R2 state "$ID" | jq -r .pid)"
    bpftool prog show id "${ids[0]}" | grep -q "name dune_devices"
  fi
  run R2 exec "$ID" sh -c 'mknod /dev/mem c 1 1 && head -c 1 /dev/mem 2>&1; head -c 3 /dev/zero | wc -c'
  echo "$output"
  [ "$status" -eq 0 ]
  [[ ${lines[0]} == *"Operation not permitted"* ]]
  [ "${lines[1]}" = 3 ]
  R2 delete --force "$ID"
  [ ! -d "$HOSTDIR" ]
  # The program is freed once the cgroup is gone (RCU may take a moment).
  for _ in $(seq 50); do bpftool prog show id "${ids[0]}" >/dev/null 2>&1 || break; sleep 0.1; done
  run bpftool prog show id "${ids[0]}"
  [ "$status" -ne 0 ]
}

# sda_open: opens /dev/sda (8:0) in the container and prints the error, if any; sda_allowed: the
# cgroup let the open through (no such disk here: ENXIO; a host with one: no error).
sda_open() {
  run R2 exec "$ID" sh -c 'head -c 1 /dev/sda 2>&1 >/dev/null; true'
  echo "open /dev/sda: $output"
}
sda_allowed() { [[ -z $output || $output == *"/dev/sda"*"No such device or address"* ]]; }
sda_denied() { [[ $output == *"/dev/sda"*"Operation not permitted"* ]]; }

@test "update with new device rules changes what works, and back [dune-contract]" {
  start2
  wait_status "$ID" running
  before=$(device_programs)
  R2 exec "$ID" mknod /dev/sda b 8 0
  sda_open
  sda_denied
  # docker's list plus read access to 8:0.
  jq '{devices: (. + [{allow: true, type: "b", major: 8, minor: 0, access: "r"}])}' "$E2E_REPO/e2e/lib/docker-devices.json" | update2
  after=$(device_programs)
  echo "before: $before after: $after"
  [ "$(wc -l <<<"$after")" -eq 1 ]
  [ "$before" != "$after" ]
  sda_open
  sda_allowed
  run R2 exec "$ID" sh -c 'echo x > /dev/sda 2>&1; head -c 3 /dev/zero | wc -c'
  echo "$output"
  [[ ${lines[0]} == *"/dev/sda"*"Operation not permitted"* ]] # read only
  [ "${lines[1]}" = 3 ]
  # Back to docker's list: refused again.
  jq '{devices: .}' "$E2E_REPO/e2e/lib/docker-devices.json" | update2
  sda_open
  sda_denied
  [ "$(device_programs | wc -l)" -eq 1 ]
  # Allow everything: no program is left at all.
  echo '{"devices": [{"allow": true, "access": "rwm"}]}' | update2
  [ -z "$(device_programs)" ]
  sda_open
  sda_allowed
}

@test "a deny rule with access \"rwa\" is accepted by run and by update, as runc accepts it" {
  # runc's own update test creates such a container; runc's update ignores device rules, dune applies them.
  bundle_jq "$B" '.linux.resources.devices += [{"allow": false, "type": "c", "major": 1, "minor": 5, "access": "rwa"}]'
  start2
  wait_status "$ID" running
  echo '{"devices": [{"allow": false, "access": "rwm"}, {"allow": false, "type": "c", "major": 1, "minor": 11, "access": "rwa"}]}' | update2
  run R2 exec "$ID" sh -c 'echo x > /dev/null && echo null-ok'
  [ "$output" = null-ok ]
}

@test "access letters other than r, w and m are ignored with a warning, as runc ignores them" {
  bundle_jq "$B" '.linux.resources.devices += [{"allow": true, "type": "b", "major": 8, "minor": 0, "access": "rx"}]'
  start2
  wait_status "$ID" running
  if [[ $DUNE != *runc ]]; then grep -Eq 'devices\[8\]: access [^ ]*rx[^ ]*: ignoring [^ ]*x[^ ]* \(only r, w and m' "$LOG"; fi
  R2 exec "$ID" mknod /dev/sda b 8 0
  sda_open
  sda_allowed
  run R2 exec "$ID" sh -c 'echo x > /dev/sda 2>&1; true'
  [[ $output == *"/dev/sda"*"Operation not permitted"* ]]
}

# A program on HOSTDIR while the container runs, the probe's results inside, and nothing after.
@test "ctr run on a containerd of the v2 view: allowed devices work, /dev/sda is refused, no program after rm" {
  v2_wrapper "$T/v2-containerd" containerd /usr/bin/containerd
  PATH=$T/v2-containerd:$PATH start_containerd "$V2_DAEMONS/containerd"
  make_oci_image_tar "$CD_DIR/busybox-oci.tar"
  ctr_ images import --base-name localhost/dune-e2e/busybox "$CD_DIR/busybox-oci.tar" >&2
  CID=ctr-${BATS_TEST_NUMBER}-$$-$RANDOM
  HOSTDIR=$UNIFIED/$CD_NS/$CID
  # ctr asks for cpu shares 1024 by default; this host's cgroup2 has no cpu controller (it is bound to v1).
  ctr_ run -d --cpu-shares 0 --runc-binary "$DUNE" --runc-root "$CD_DIR/runc-root" "$IMAGE" "$CID" sleep 1000
  wait_task_status "$CID" RUNNING
  mapfile -t ids < <(device_programs)
  echo "programs: ${ids[*]}"
  [ "${#ids[@]}" -eq 1 ]
  run ctr_ task exec --exec-id probe "$CID" sh -c "$PROBE"
  echo "$output"
  check_probe
  remove_task "$CID"
  [ ! -d "$HOSTDIR" ]
  for _ in $(seq 50); do bpftool prog show id "${ids[0]}" >/dev/null 2>&1 || break; sleep 0.1; done
  run bpftool prog show id "${ids[0]}"
  [ "$status" -ne 0 ]
}

@test "docker run --runtime=dune on a dockerd of the v2 view: docker's own device rules hold, no program after rm" {
  # /run/containerd hidden there: dockerd starts its own containerd in its namespace, never a host one.
  v2_wrapper "$T/v2-dockerd" dockerd /usr/sbin/dockerd 'mount -t tmpfs tmpfs /run/containerd &&'
  PATH=$T/v2-dockerd:$PATH start_dockerd "$V2_DAEMONS/docker" "$V2_DOCKER_DATA"
  docker_ info --format '{{.CgroupVersion}}' | grep -qx 2
  make_rootfs_tar "$DK_DIR/rootfs.tar"
  docker_ import --change 'CMD ["sh"]' "$DK_DIR/rootfs.tar" dune-e2e/busybox >/dev/null
  DNAME=dk-${BATS_TEST_NUMBER}-$$-$RANDOM
  run docker_ run --rm --runtime=dune --network none dune-e2e/busybox sh -c "$PROBE"
  echo "$output"
  check_probe
  docker_ run -d --name "$DNAME" --runtime=dune --network none dune-e2e/busybox sleep 1000
  HOSTDIR=$UNIFIED/docker/$(docker_ inspect -f '{{.Id}}' "$DNAME")
  mapfile -t ids < <(device_programs)
  echo "programs: ${ids[*]}"
  [ "${#ids[@]}" -eq 1 ]
  docker_ rm -f "$DNAME"
  [ ! -d "$HOSTDIR" ]
  for _ in $(seq 50); do bpftool prog show id "${ids[0]}" >/dev/null 2>&1 || break; sleep 0.1; done
  run bpftool prog show id "${ids[0]}"
  [ "$status" -ne 0 ]
}

@test "a linux.devices entry gets the node but no device access of its own, as in runc" {
  # runc's "update devices [minimal transition rules]" setup: the node exists, the rules deny it (with "rwa").
  bundle_jq "$B" '.linux.resources.devices = [{"allow": false, "access": "rwm"}, {"allow": false, "type": "c", "major": 1, "minor": 11, "access": "rwa"}]
    | .linux.devices = [{"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11}]
    | .process.capabilities.bounding += ["CAP_SYSLOG"] | .process.capabilities.effective += ["CAP_SYSLOG"]
    | .process.capabilities.permitted += ["CAP_SYSLOG"]'
  in_ctr2 sh -c 'ls -l /dev/kmsg; head -c 100 /dev/kmsg 2>&1; echo x > /dev/null && echo null-ok'
  [ "$status" -eq 0 ]
  [[ ${lines[0]} == c* ]]
  [[ ${lines[1]} == *"/dev/kmsg"*"Operation not permitted"* ]]
  [ "${lines[2]}" = null-ok ]
}
