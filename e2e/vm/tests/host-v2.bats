#!/usr/bin/env bats
# Runs inside the VM (e2e/vm/run.sh): a pure cgroup v2 host with systemd as PID 1 and
# containerd started by its own unit, the kind of host docker, containerd and Kubernetes run on.
# $DUNE is the runtime under test (run.sh passes /opt/dune/build/bin/dune, or runc with
# VM_RUNTIME=runc to validate these tests against the reference runtime). Tests tagged
# dune-mode need Dune mode (KVM inside the VM, kvm_amd on QEMU's emulated SVM) and are left out
# for runc by run.sh; every other test holds for runc 1.1.5 as for dune.

load ../../lib/helpers
source "$E2E_REPO/e2e/lib/dune.bash"

CTR_NS=dune-vm
IMAGE=localhost/dune-vm/busybox:latest
ctr_() { ctr --namespace "$CTR_NS" "$@" 3>&-; }

setup_file() {
  e2e_require_env
  # Dune mode needs /dev/kvm: QEMU's -cpu max emulates SVM, which kvm_amd drives.
  [[ -c /dev/kvm ]] || modprobe kvm_amd || echo "# modprobe kvm_amd failed: no /dev/kvm" >&3
  ctr_ images import --base-name localhost/dune-vm/busybox "$E2E_REPO/images/busybox-oci.tar" >&2
}

setup() {
  common_setup
  make_bundle "$B" sh
  # Native mode (a plain process) unless a test asks for a Dune process; runc ignores it.
  bundle_jq "$B" '.annotations = {"run.dune.mode": "native"}'
  CID=vm-${BATS_TEST_NUMBER}-$$-$RANDOM
}

# The cgroup driver tests leave the device rules out (no linux.resources.devices: runc's and
# dune's default device set), so that each test fails for one reason; the device rules have
# their own tests below, and containerd always sends them.
no_device_rules() { bundle_jq "$B" 'del(.linux.resources.devices)'; }

teardown() {
  ctr_ task kill -s KILL "$CID" >/dev/null 2>&1 || true
  ctr_ task rm -f "$CID" >/dev/null 2>&1 || true
  ctr_ container rm "$CID" >/dev/null 2>&1 || true
  common_teardown
}

# The systemd driver's cgroupsPath slice:prefix:name names the scope prefix-name.scope.
scope_of() { echo "dune-vm-$1.scope"; }
unit_prop() { systemctl show -P "$2" "$1"; }
cgroup_of() { sed -n 's/^0:://p' "/proc/$1/cgroup"; }

# The device rules Debian's dockerd 20.10 sends for a container: deny all, then its allow list
# (the runtime appends its own always-allowed devices, mknod of any device among them).
DOCKER_DEVICES='[{"allow":false,"access":"rwm"},
  {"allow":true,"type":"c","major":1,"minor":5,"access":"rwm"},
  {"allow":true,"type":"c","major":1,"minor":3,"access":"rwm"},
  {"allow":true,"type":"c","major":1,"minor":9,"access":"rwm"},
  {"allow":true,"type":"c","major":1,"minor":8,"access":"rwm"},
  {"allow":true,"type":"c","major":5,"minor":0,"access":"rwm"},
  {"allow":true,"type":"c","major":5,"minor":1,"access":"rwm"},
  {"allow":false,"type":"c","major":10,"minor":229,"access":"rwm"}]'

# The VM's root disk as "major minor" (decimal): a block device the container may not open.
disk_numbers() {
  local t m
  read -r t m < <(stat -c '%t %T' /dev/vda)
  echo "$((16#$t)) $((16#$m))"
}

with_mknod() {
  bundle_jq "$B" '.process.capabilities |= with_entries(.value += ["CAP_MKNOD"])'
}

@test "host: pure cgroup v2, systemd is PID 1, containerd runs as a unit" {
  [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]
  [ "$(cat /proc/1/comm)" = systemd ]
  # No v1 hierarchy anywhere.
  run awk '$3 == "cgroup" {print $2}' /proc/self/mounts
  [ -z "$output" ]
  for c in cpu io memory pids; do
    grep -qw "$c" /sys/fs/cgroup/cgroup.controllers
  done
  [ "$(systemctl is-active containerd.service)" = active ]
  [ "$(cgroup_of "$(systemctl show -P MainPID containerd.service)")" = /system.slice/containerd.service ]
}

@test "run (cgroupfs driver): output and exit status of a busybox container" {
  no_device_rules
  bundle_jq "$B" '.linux.cgroupsPath = $p' --arg p "/dune-vm/$ID"
  in_ctr sh -c 'echo hello from v2; exit 3'
  [ "$status" -eq 3 ]
  [ "$output" = "hello from v2" ]
  [ ! -e "/sys/fs/cgroup/dune-vm/$ID" ]
}

@test "cgroupfs driver: the container's v2 cgroup holds it with the limits, and goes on delete" {
  no_device_rules
  bundle_jq "$B" '.linux.cgroupsPath = $p | .linux.resources.memory = {limit: 67108864}
      | .linux.resources.pids = {limit: 50} | .linux.resources.cpu = {quota: 50000, period: 100000}' \
    --arg p "/dune-vm/$ID"
  bundle_set_args "$B" sleep 1000
  create_ctr "$ID"
  pid=$(pid_of "$ID")
  cg=/sys/fs/cgroup/dune-vm/$ID
  [ "$(cgroup_of "$pid")" = "/dune-vm/$ID" ]
  [ "$(cat "$cg/memory.max")" = 67108864 ]
  [ "$(cat "$cg/pids.max")" = 50 ]
  [ "$(cat "$cg/cpu.max")" = "50000 100000" ]
  R start "$ID"
  R update --memory 134217728 --pids-limit 60 "$ID"
  [ "$(cat "$cg/memory.max")" = 134217728 ]
  [ "$(cat "$cg/pids.max")" = 60 ]
  R pause "$ID"
  [ "$(status_of "$ID")" = paused ]
  grep -qx 'frozen 1' "$cg/cgroup.events"
  R resume "$ID"
  grep -qx 'frozen 0' "$cg/cgroup.events"
  R kill "$ID" KILL
  wait_status "$ID" stopped
  R delete "$ID"
  [ ! -e "$cg" ]
  assert_nothing_left "$ID" "$B"
}

@test "systemd driver: --systemd-cgroup run puts the container in a transient scope with its limits" {
  no_device_rules
  bundle_jq "$B" '.linux.cgroupsPath = $p | .linux.resources.memory = {limit: 67108864}
      | .linux.resources.pids = {limit: 50}' --arg p "system.slice:dune-vm:$ID"
  bundle_set_args "$B" sleep 1000
  scope=$(scope_of "$ID")
  R --systemd-cgroup create --bundle "$B" "$ID" </dev/null >"$T/out" 2>"$T/err" || { cat "$T/err"; false; }
  pid=$(pid_of "$ID")
  [ "$(cgroup_of "$pid")" = "/system.slice/$scope" ]
  [ "$(unit_prop "$scope" ActiveState)" = active ]
  [ "$(unit_prop "$scope" MemoryMax)" = 67108864 ]
  [ "$(unit_prop "$scope" TasksMax)" = 50 ]
  [ "$(cat "/sys/fs/cgroup/system.slice/$scope/memory.max")" = 67108864 ]
  [ "$(cat "/sys/fs/cgroup/system.slice/$scope/pids.max")" = 50 ]
  R --systemd-cgroup start "$ID"
  R --systemd-cgroup update --memory 134217728 "$ID"
  [ "$(unit_prop "$scope" MemoryMax)" = 134217728 ]
  [ "$(cat "/sys/fs/cgroup/system.slice/$scope/memory.max")" = 134217728 ]
  R --systemd-cgroup kill "$ID" KILL
  wait_status "$ID" stopped
  R --systemd-cgroup delete "$ID"
  [ "$(unit_prop "$scope" LoadState)" = not-found ]
  [ ! -e "/sys/fs/cgroup/system.slice/$scope" ]
  assert_nothing_left "$ID" "$B"
}

@test "systemd driver: run of a busybox container, output and exit status, nothing left" {
  no_device_rules
  bundle_jq "$B" '.linux.cgroupsPath = $p' --arg p "system.slice:dune-vm:$ID"
  # Without a cgroup namespace (`spec` adds one on v2 hosts) the process sees its host cgroup.
  bundle_jq "$B" 'del(.linux.namespaces[] | select(.type == "cgroup"))'
  # It waits for /tmp/go (made from here through the bundle's rootfs) so that the scope can be
  # checked while `run` is in the foreground.
  bundle_set_args "$B" sh -c 'echo hello from a scope; cat /proc/self/cgroup
      while [ ! -e /tmp/go ]; do sleep 0.1; done; exit 4'
  R --systemd-cgroup run --bundle "$B" "$ID" </dev/null >"$T/out" 2>"$T/err" &
  runner=$!
  BG_PIDS+=("$runner")
  wait_lines "$T/out" 2 60
  scope=$(scope_of "$ID")
  [ "$(sed -n 1p "$T/out")" = "hello from a scope" ]
  [ "$(sed -n 2p "$T/out")" = "0::/system.slice/$scope" ]
  [ "$(unit_prop "$scope" ActiveState)" = active ]
  touch "$B/rootfs/tmp/go"
  rc=0
  wait "$runner" || rc=$?
  cat "$T/err"
  [ "$rc" -eq 4 ]
  [ "$(unit_prop "$scope" LoadState)" = not-found ]
  [ ! -e "/sys/fs/cgroup/system.slice/$scope" ]
  assert_nothing_left "$ID" "$B"
}

@test "docker's device rules on v2: allowed devices work, a disk opened through mknod is refused" {
  read -r major minor < <(disk_numbers)
  with_mknod
  bundle_jq "$B" '.linux.cgroupsPath = $p | .linux.resources.devices = $d' \
    --arg p "/dune-vm/$ID" --argjson d "$DOCKER_DEVICES"
  in_ctr sh -c "head -c 4 /dev/zero | wc -c; echo x >/dev/null && echo null-ok
      mknod /tmp/disk b $major $minor && echo mknod-ok; head -c 1 /tmp/disk >/dev/null"
  [ "$status" -ne 0 ]
  [ "${lines[0]}" = 4 ]
  [ "${lines[1]}" = null-ok ]
  [ "${lines[2]}" = mknod-ok ]
  [[ $stderr == *"Operation not permitted"* ]]
}

@test "device rules on v2: after a deny-all the default devices stay usable; a wildcard rule opens the disk" {
  read -r major minor < <(disk_numbers)
  with_mknod
  bundle_jq "$B" '.linux.cgroupsPath = $p | .linux.resources.devices = [{"allow":false,"access":"rwm"}]' \
    --arg p "/dune-vm/$ID"
  in_ctr sh -c "head -c 3 /dev/zero | wc -c; echo x >/dev/null && echo null-ok
      mknod /tmp/disk b $major $minor && echo mknod-ok; head -c 512 /tmp/disk | wc -c"
  [ "${lines[0]}" = 3 ]
  [ "${lines[1]}" = null-ok ]
  [ "${lines[2]}" = mknod-ok ]
  [ "${lines[3]}" = 0 ]
  [[ $stderr == *"Operation not permitted"* ]]
  # Block devices of any major and minor (type b, no numbers) allowed: the same read works.
  bundle_jq "$B" '.linux.resources.devices += [{"allow":true,"type":"b","access":"rwm"}]'
  in_ctr sh -c "mknod /tmp/disk2 b $major $minor && head -c 512 /tmp/disk2 | wc -c"
  [ "$status" -eq 0 ]
  [ "$output" = 512 ]
}

@test "device rules on v2: a device program is attached to the container's cgroup while it runs" {
  bundle_jq "$B" '.linux.cgroupsPath = $p | .linux.resources.devices = $d' \
    --arg p "/dune-vm/$ID" --argjson d "$DOCKER_DEVICES"
  bundle_set_args "$B" sleep 1000
  create_ctr "$ID"
  run bpftool -j cgroup show "/sys/fs/cgroup/dune-vm/$ID"
  echo "$output"
  [ "$status" -eq 0 ]
  jq -e 'map(select(.attach_type == "cgroup_device")) | length >= 1' <<<"$output"
  R delete --force "$ID"
  [ ! -e "/sys/fs/cgroup/dune-vm/$ID" ]
}

@test "containerd (systemd unit, SystemdCgroup): ctr run with the runtime as BinaryName" {
  ctr_ run -d --runc-binary "$DUNE" --runc-systemd-cgroup --cgroup "system.slice:dune-vm:$CID" \
    --annotation run.dune.mode=native "$IMAGE" "$CID" sh -c 'echo started; sleep 1000' </dev/null
  for _ in $(seq 100); do
    [[ $(ctr_ task ls | awk -v c="$CID" '$1 == c {print $3}') == RUNNING ]] && break
    sleep 0.1
  done
  pid=$(ctr_ task ls | awk -v c="$CID" '$1 == c {print $2}')
  [ -n "$pid" ]
  scope=$(scope_of "$CID")
  [ "$(cgroup_of "$pid")" = "/system.slice/$scope" ]
  [ "$(unit_prop "$scope" ActiveState)" = active ]
  # The shim ran our runtime: its state directory for the task is there.
  [ -e "/run/containerd/runc/$CTR_NS/$CID/state.json" ]
  run ctr_ task exec --exec-id e1 "$CID" sh -c 'echo exec ok; exit 5'
  echo "$output"
  [ "$status" -eq 5 ]
  [ "$output" = "exec ok" ]
  ctr_ task kill -s KILL "$CID"
  for _ in $(seq 100); do
    [[ $(ctr_ task ls | awk -v c="$CID" '$1 == c {print $3}') == STOPPED ]] && break
    sleep 0.1
  done
  ctr_ task rm "$CID"
  ctr_ container rm "$CID"
  [ "$(unit_prop "$scope" LoadState)" = not-found ]
}

# bats test_tags=dune-mode
@test "Dune mode in the VM: dune run on v2 runs a Dune process in its cgroup" {
  require_kvm
  no_device_rules
  bundle_jq "$B" '.annotations = {} | .linux.cgroupsPath = $p' --arg p "/dune-vm/$ID"
  bundle_set_args "$B" sh -c 'echo dune-mode; sleep 1000'
  create_ctr "$ID"
  R start "$ID"
  pid=$(pid_of "$ID")
  wait_file "$T/$ID.out" 60
  [ "$(cat "$T/$ID.out")" = dune-mode ]
  is_dune_process "$pid"
  [ "$(cgroup_of "$pid")" = "/dune-vm/$ID" ]
  R delete --force "$ID"
  [ ! -e "/sys/fs/cgroup/dune-vm/$ID" ]
  # The cost here (QEMU's software SVM): one run each way, as a diagnostic line.
  bundle_set_args "$B" true
  t0=$(date +%s%N)
  R run --bundle "$B" "$ID" </dev/null
  t1=$(date +%s%N)
  bundle_jq "$B" '.annotations = {"run.dune.mode": "native"}'
  R run --bundle "$B" "$ID" </dev/null
  t2=$(date +%s%N)
  echo "# dune run of true in the VM: Dune mode $(((t1 - t0) / 1000000)) ms, native $(((t2 - t1) / 1000000)) ms" >&3
}

# bats test_tags=dune-mode
@test "Dune mode in the VM: with docker's device rules (cgroupfs driver) the Dune process runs" {
  require_kvm
  # The rules deny /dev/kvm to the container; dune's own use of it must not be refused.
  bundle_jq "$B" '.annotations = {} | .linux.cgroupsPath = $p | .linux.resources.devices = $d' \
    --arg p "/dune-vm/$ID" --argjson d "$DOCKER_DEVICES"
  bundle_set_args "$B" sh -c 'echo dune-mode; sleep 1000'
  create_ctr "$ID"
  R start "$ID"
  pid=$(pid_of "$ID")
  wait_file "$T/$ID.out" 60
  [ "$(cat "$T/$ID.out")" = dune-mode ]
  is_dune_process "$pid"
  # The container's processes still may not open it.
  run R exec "$ID" sh -c 'head -c 1 /dev/kvm'
  [ "$status" -ne 0 ]
}

# bats test_tags=dune-mode
@test "Dune mode in the VM: ctr run (SystemdCgroup) runs a Dune process" {
  require_kvm
  ctr_ run -d --runc-binary "$DUNE" --runc-systemd-cgroup --cgroup "system.slice:dune-vm:$CID" \
    "$IMAGE" "$CID" sleep 1000 </dev/null
  for _ in $(seq 300); do
    [[ $(ctr_ task ls | awk -v c="$CID" '$1 == c {print $3}') == RUNNING ]] && break
    sleep 0.1
  done
  pid=$(ctr_ task ls | awk -v c="$CID" '$1 == c {print $2}')
  is_dune_process "$pid"
  [ "$(cgroup_of "$pid")" = "/system.slice/$(scope_of "$CID")" ]
}
