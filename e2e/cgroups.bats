#!/usr/bin/env bats
# cgroup scenarios of runc's own integration tests (cgroups.bats, update.bats, delete.bats) in
# the shapes they use: a "pod" cgroup made beforehand with its own limit, a cgroup someone froze
# beforehand, sub-cgroups a container makes in its cgroup namespace, update of a paused
# container; on this host's cgroup v1 hierarchies and on a pure cgroup v2 view of it (a private
# mount namespace where /sys/fs/cgroup is the hybrid cgroup2 hierarchy alone: no controllers
# there, but cgroup.freeze, cgroup.kill and sub-cgroups work). Every runtime command runs under
# `timeout`: these scenarios used to hang for good. DUNE=runc runs the same tests against runc.

load lib/helpers
source "$E2E_REPO/e2e/lib/image.sh"
source "$E2E_REPO/e2e/lib/daemons.sh"

UNIFIED=/sys/fs/cgroup/unified
# The tests' cgroups: /sys/fs/cgroup/<hierarchy>/$PARENT/... (v1) and $UNIFIED/$PARENT/... (v2).
PARENT=${E2E_CGROUPS_PARENT:-dune-e2e-cgroups}
# Seconds any one runtime command may take before the test fails instead of hanging.
CMD_TIMEOUT=${E2E_CGROUPS_TIMEOUT:-30}
export BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-180}
# The private containerd of the shim test, started on the pure v2 view, and the shim it runs
# (which runs the dune beside it, whatever $DUNE is).
SHIM=${SHIM:-$E2E_REPO/build/bin/containerd-shim-dune-v2}
CD_SHIM_DIR=$(dirname "$SHIM")
CGROUPS_CD_DIR=${E2E_CGROUPS_CONTAINERD_DIR:-/run/dune-e2e/containerd-cgroups}
CD_NS=dune-cgroups-e2e

setup_file() {
  e2e_require_env
  command -v unshare >/dev/null || { echo "FATAL: unshare missing (util-linux)" >&2; return 1; }
  [[ ! -f /sys/fs/cgroup/cgroup.controllers ]] ||
    { echo "FATAL: this suite expects a cgroup v1 (hybrid) host; /sys/fs/cgroup is cgroup2" >&2; return 1; }
  awk -v m="$UNIFIED" '$5 == m && / - cgroup2 / {found = 1} END {exit !found}' /proc/self/mountinfo ||
    { echo "FATAL: no cgroup2 hierarchy mounted at $UNIFIED" >&2; return 1; }
}

setup() {
  common_setup
  make_bundle "$B" sh -c 'echo ready > /tmp/ready; while :; do sleep 0.1; done' >/dev/null
  CG=/$PARENT/$ID
}

teardown() {
  local id d
  if [[ -d $ROOT ]]; then
    for id in $(V2 "$DUNE" --root "$ROOT" list -q 2>/dev/null); do
      V2 "$DUNE" --root "$ROOT" delete --force "$id" >/dev/null 2>&1 || true
    done
  fi
  # The shim test's containerd, if the test ended before stopping it.
  if [[ ${CD_DIR:-} == "$CGROUPS_CD_DIR" && -f $CD_DIR/containerd.pid ]]; then
    remove_task "$ID"
    stop_containerd
  fi
  local restore_hugetlb=0
  [[ -e ${T:-}/disable-hugetlb ]] && restore_hugetlb=1
  common_teardown
  # Pods and frozen cgroups the tests made themselves (thawed first, or rmdir waits on nothing).
  for d in $(find /sys/fs/cgroup/ -depth -type d -path "*/$PARENT/*" 2>/dev/null); do
    [[ -f $d/freezer.state ]] && echo THAWED >"$d/freezer.state" 2>/dev/null
    [[ -f $d/cgroup.freeze ]] && echo 0 >"$d/cgroup.freeze" 2>/dev/null
    rmdir "$d" 2>/dev/null || true
  done
  if ((restore_hugetlb)); then
    echo -hugetlb >"$UNIFIED/$PARENT/cgroup.subtree_control" 2>/dev/null || true
    rmdir "$UNIFIED/$PARENT" 2>/dev/null || true
    echo -hugetlb >"$UNIFIED/cgroup.subtree_control" ||
      echo "teardown: could not disable hugetlb at $UNIFIED again" >&2
  fi
}

teardown_file() {
  CD_DIR=$CGROUPS_CD_DIR CD_SOCK=$CGROUPS_CD_DIR/containerd.sock stop_containerd
  rmdir /sys/fs/cgroup/*/"$PARENT" 2>/dev/null || true
}

# T ARGS...: the runtime with this test's --root and log, bounded by $CMD_TIMEOUT.
T() {
  timeout "$CMD_TIMEOUT" "$DUNE" --root "$ROOT" --log "$LOG" --log-format json "$@" 3>&-
}

# V2 CMD...: CMD in a private mount namespace whose /sys/fs/cgroup is the cgroup2 hierarchy alone.
V2() {
  unshare --mount --propagation private sh -c \
    'umount -R /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec "$@"' v2 "$@" 3>&-
}

# T2 ARGS...: T on the pure v2 view.
T2() {
  V2 timeout "$CMD_TIMEOUT" "$DUNE" --root "$ROOT" --log "$LOG" --log-format json "$@"
}

# v1_dirs: every v1 hierarchy's mount point (name=systemd included), one a line.
v1_dirs() {
  awk '$(NF-2) == "cgroup" {print $5}' /proc/self/mountinfo
}

# ---------------------------------------------------------------- cgroup v1

@test "v1 pod cgroup made beforehand with a cpu quota: run under it, update checked against it" {
  # update.bats "update cpu period in a pod cgroup with pod limit set".
  local pod=/$PARENT/pod-$ID d
  for d in $(v1_dirs); do mkdir -p "$d$pod"; done
  echo 50000 >"/sys/fs/cgroup/cpu$pod/cpu.cfs_quota_us"
  bundle_jq "$B" --arg p "$pod/$ID" '.linux.cgroupsPath = $p
      | .linux.resources = {memory: {limit: 33554432, reservation: 25165824},
                            cpu: {shares: 100, quota: 500000, period: 1000000}, pids: {limit: 20}}'
  T run -d --bundle "$B" "$ID" </dev/null >/dev/null
  [ "$(cat "/sys/fs/cgroup/cpu$pod/$ID/cpu.cfs_quota_us")" = 500000 ]
  # 60% of a period is above the pod's 50%: the kernel refuses it.
  run T update --cpu-quota 600000 "$ID"
  [ "$status" -ne 0 ]
  # 30% with a shorter period: the period alone would be refused (old quota over new period
  # exceeds the pod), so the quota has to go first.
  T update --cpu-period 10000 --cpu-quota 3000 "$ID"
  [ "$(cat "/sys/fs/cgroup/cpu$pod/$ID/cpu.cfs_period_us")" = 10000 ]
  [ "$(cat "/sys/fs/cgroup/cpu$pod/$ID/cpu.cfs_quota_us")" = 3000 ]
  T delete --force "$ID"
  # The container's cgroups go, the pod's stay for their owner.
  for d in $(v1_dirs); do
    [ ! -d "$d$pod/$ID" ]
    [ -d "$d$pod" ]
  done
}

@test "v1 pre-existing frozen cgroup: run and create refuse it instead of hanging, and leave it" {
  # cgroups.bats "runc run/create should refuse pre-existing frozen cgroup".
  mkdir -p "/sys/fs/cgroup/freezer$CG"
  echo FROZEN >"/sys/fs/cgroup/freezer$CG/freezer.state"
  bundle_jq "$B" --arg p "$CG" '.linux.cgroupsPath = $p'
  run --separate-stderr T run -d --bundle "$B" "$ID" </dev/null
  echo "$stderr"
  [ "$status" -eq 1 ]
  [[ $stderr == *"container's cgroup unexpectedly frozen"* ]]
  run --separate-stderr T create --bundle "$B" "$ID-2" </dev/null
  [ "$status" -eq 1 ]
  [[ $stderr == *"container's cgroup unexpectedly frozen"* ]]
  [ -z "$(T list -q)" ]
  # Not the runtime's to remove: it was there before.
  [ -d "/sys/fs/cgroup/freezer$CG" ]
  [ -z "$(cat "/sys/fs/cgroup/freezer$CG/cgroup.procs")" ]
}

@test "v1 delete --force removes sub-cgroups made inside the container's cgroup namespace" {
  # delete.bats "runc delete --force in cgroupv1 with subcgroups": the config adds the cgroup
  # namespace to the default spec (which has none on a v1 host, as `runc spec`) and makes the
  # cgroup mount writable.
  bundle_jq "$B" --arg p "$CG" '.linux.cgroupsPath = $p
      | .linux.namespaces += [{type: "cgroup"}]
      | .mounts |= map((select(.type == "cgroup") | .options -= ["ro"]) // .)'
  T run -d --bundle "$B" "$ID" </dev/null >/dev/null
  T exec -d "$ID" sleep 1d
  pid=$(T exec "$ID" ps -o pid,args | awk '$2 == "sleep" && $3 == "1d" {print $1}')
  [[ $pid =~ ^[0-9]+$ ]]
  run T exec "$ID" sh -euc "for s in memory freezer; do mkdir /sys/fs/cgroup/\$s/foo; echo $pid > /sys/fs/cgroup/\$s/foo/tasks; done; cat /proc/$pid/cgroup"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ $output == *":memory:/foo"* ]]
  [ -d "/sys/fs/cgroup/memory$CG/foo" ]
  [ -d "/sys/fs/cgroup/freezer$CG/foo" ]
  hostpid=$(head -1 "/sys/fs/cgroup/memory$CG/foo/cgroup.procs")
  T delete --force "$ID"
  wait_gone "$hostpid"
  [ -z "$(find /sys/fs/cgroup/ -path "*$CG*" -type d)" ]
}

@test "v1 a cgroup namespace listed twice is refused, as runc refuses it" {
  bundle_jq "$B" --arg p "$CG" '.linux.cgroupsPath = $p | .linux.namespaces += [{type: "cgroup"}, {type: "cgroup"}]'
  run --separate-stderr T run -d --bundle "$B" "$ID" </dev/null
  echo "$stderr"
  [ "$status" -ne 0 ]
  # dune: namespace "cgroup" is given twice; runc: duplicated ns {"cgroup" ""}.
  [[ $stderr == *cgroup* ]]
  [ -z "$(T list -q)" ]
  [ -z "$(find /sys/fs/cgroup/ -path "*$CG" -type d)" ]
}

@test "v1 linux.resources.unified is refused as an invalid configuration, nothing left" {
  # cgroups.bats "runc run (cgroup v1 + unified resources should fail)".
  bundle_jq "$B" --arg p "$CG" '.linux.cgroupsPath = $p | .linux.resources.pids.limit = 100
      | .linux.resources.unified = {"memory.min": "131072"}'
  run --separate-stderr T run -d --bundle "$B" "$ID" </dev/null
  echo "$stderr"
  [ "$status" -ne 0 ]
  [[ $stderr == *"invalid configuration"* ]]
  [ -z "$(T list -q)" ]
  [ -z "$(find /sys/fs/cgroup/ -path "*$CG" -type d)" ]
}

@test "v1 update of a paused container leaves it paused" {
  # update.bats "update paused container".
  bundle_jq "$B" --arg p "$CG" '.linux.cgroupsPath = $p | .linux.resources.pids = {limit: 20}'
  T run -d --bundle "$B" "$ID" </dev/null >/dev/null
  T pause "$ID"
  T update --pids-limit 30 "$ID"
  [ "$(T state "$ID" | jq -r .status)" = paused ]
  [ "$(cat "/sys/fs/cgroup/pids$CG/pids.max")" = 30 ]
  [ "$(cat "/sys/fs/cgroup/freezer$CG/freezer.state")" = FROZEN ]
  T resume "$ID"
  [ "$(T state "$ID" | jq -r .status)" = running ]
}

@test "spec has a cgroup namespace only on a pure cgroup v2 host, like runc spec" {
  mkdir "$T/v1" "$T/v2"
  T spec --bundle "$T/v1"
  jq -e '[.linux.namespaces[].type] | index("cgroup") == null' "$T/v1/config.json"
  T2 spec --bundle "$T/v2"
  jq -e '[.linux.namespaces[].type] | index("cgroup") != null' "$T/v2/config.json"
  # The reference: Debian's runc does the same on both views.
  if [[ $(basename "$DUNE") != runc ]] && command -v runc >/dev/null; then
    mkdir "$T/r1" "$T/r2"
    (cd "$T/r1" && runc spec)
    (cd "$T/r2" && V2 runc spec)
    [ "$(jq -c '[.linux.namespaces[].type]' "$T/r1/config.json")" = "$(jq -c '[.linux.namespaces[].type]' "$T/v1/config.json")" ]
    [ "$(jq -c '[.linux.namespaces[].type]' "$T/r2/config.json")" = "$(jq -c '[.linux.namespaces[].type]' "$T/v2/config.json")" ]
  fi
}

# ---------------------------------------------------------------- cgroup v2 (private view)

# The v2 containers allow every device: device rules on v2 are the eBPF program's business
# (e2e/cgroup2.bats), not these scenarios'.
v2_bundle() {
  bundle_jq "$B" --arg p "$CG" '.linux.cgroupsPath = $p | .linux.resources.devices = [{allow: true, access: "rwm"}]'
}

# v2_cgroupns_bundle: v2_bundle plus a cgroup namespace and a writable cgroup mount, as runc's
# tests make with set_cgroup_mount_writable.
v2_cgroupns_bundle() {
  v2_bundle
  bundle_jq "$B" '.linux.namespaces |= (map(select(.type != "cgroup")) + [{type: "cgroup"}])
      | .mounts |= map((select(.type == "cgroup") | .options -= ["ro"]) // .)'
}

@test "v2 pre-existing frozen cgroup: run and create refuse it instead of hanging, and leave it" {
  mkdir -p "$UNIFIED$CG"
  echo 1 >"$UNIFIED$CG/cgroup.freeze"
  v2_bundle
  run --separate-stderr T2 run -d --bundle "$B" "$ID" </dev/null
  echo "$stderr"
  [ "$status" -eq 1 ]
  [[ $stderr == *"container's cgroup unexpectedly frozen"* ]]
  run --separate-stderr T2 create --bundle "$B" "$ID-2" </dev/null
  [ "$status" -eq 1 ]
  [[ $stderr == *"container's cgroup unexpectedly frozen"* ]]
  [ -d "$UNIFIED$CG" ]
  [ -z "$(cat "$UNIFIED$CG/cgroup.procs")" ]
}

@test "v2 the container's /sys/fs/cgroup is its own cgroup2 directory alone, read-only" {
  # cgroups.bats "runc run (cgroupv2 mount inside container)".
  v2_bundle
  bundle_jq "$B" '.linux.namespaces |= (map(select(.type != "cgroup")) + [{type: "cgroup"}])'
  T2 run -d --bundle "$B" "$ID" </dev/null >/dev/null
  wait_file "$B/rootfs/tmp/ready"
  mkdir "$UNIFIED$CG-sibling"
  run T2 exec "$ID" find /sys/fs/cgroup/ -type d
  rmdir "$UNIFIED$CG-sibling"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = /sys/fs/cgroup/ ]
  run T2 exec "$ID" awk '$5 == "/sys/fs/cgroup" {print $(NF-2), $6}' /proc/self/mountinfo
  echo "$output"
  [[ ${lines[-1]} == "cgroup2 ro,"* ]]
}

@test "v2 pause and resume through cgroup.freeze, update while paused keeps it paused" {
  v2_bundle
  T2 run -d --bundle "$B" "$ID" </dev/null >/dev/null
  wait_file "$B/rootfs/tmp/ready"
  T2 pause "$ID"
  [ "$(cat "$UNIFIED$CG/cgroup.freeze")" = 1 ]
  grep -qx 'frozen 1' "$UNIFIED$CG/cgroup.events"
  [ "$(T2 state "$ID" | jq -r .status)" = paused ]
  # No controller is enabled on this view: an update with nothing to write still goes through
  # the update path, which must not thaw.
  T2 update --resources - "$ID" <<<'{}'
  [ "$(T2 state "$ID" | jq -r .status)" = paused ]
  grep -qx 'frozen 1' "$UNIFIED$CG/cgroup.events"
  T2 resume "$ID"
  grep -qx 'frozen 0' "$UNIFIED$CG/cgroup.events"
  [ "$(T2 state "$ID" | jq -r .status)" = running ]
}

@test "v2 init in a non-root cgroup: sub-cgroups made inside, kill --all and delete --force reach them" {
  # cgroups.bats "runc exec (cgroup v2 + init process in non-root cgroup)" and delete.bats
  # "delete --force in cgroupv2 with subcgroups": the container moves its init into /foo of
  # its own cgroup namespace, an exec'd process into /bar.
  v2_cgroupns_bundle
  T2 run -d --bundle "$B" "$ID" </dev/null >/dev/null
  wait_file "$B/rootfs/tmp/ready"
  # The v1 hierarchies still exist in this kernel, so /proc/self/cgroup lists them too: the v2 line counts.
  run T2 exec "$ID" cat /proc/self/cgroup
  echo "$output"
  [ "${lines[-1]}" = "0::/" ]
  T2 exec "$ID" sh -euc 'mkdir /sys/fs/cgroup/foo /sys/fs/cgroup/bar; echo 1 > /sys/fs/cgroup/foo/cgroup.procs'
  T2 exec -d "$ID" sh -c 'echo $$ > /sys/fs/cgroup/bar/cgroup.procs; exec sleep 1d'
  run T2 exec "$ID" cat /proc/1/cgroup
  [ "${lines[-1]}" = "0::/foo" ]
  [ -d "$UNIFIED$CG/foo" ]
  local n=0
  until [[ -n $(cat "$UNIFIED$CG/bar/cgroup.procs") ]] || ((n++ > 100)); do sleep 0.05; done
  sleeper=$(cat "$UNIFIED$CG/bar/cgroup.procs")
  [ -n "$sleeper" ]
  init=$(T2 state "$ID" | jq -r .pid)
  T2 kill --all "$ID" KILL
  wait_gone "$sleeper"
  wait_gone "$init"
  T2 delete --force "$ID"
  [ ! -d "$UNIFIED$CG" ]
}

@test "v2 delete --force of a paused container with a frozen sub-cgroup leaves nothing" {
  v2_cgroupns_bundle
  T2 run -d --bundle "$B" "$ID" </dev/null >/dev/null
  wait_file "$B/rootfs/tmp/ready"
  T2 exec -d "$ID" sh -c 'mkdir /sys/fs/cgroup/sub && echo $$ > /sys/fs/cgroup/sub/cgroup.procs && echo 1 > /sys/fs/cgroup/sub/cgroup.freeze && exec sleep 1d'
  local n=0
  until grep -qx 'frozen 1' "$UNIFIED$CG/sub/cgroup.events" 2>/dev/null || ((n++ > 100)); do sleep 0.05; done
  grep -qx 'frozen 1' "$UNIFIED$CG/sub/cgroup.events"
  sleeper=$(cat "$UNIFIED$CG/sub/cgroup.procs")
  T2 pause "$ID"
  T2 delete --force "$ID"
  wait_gone "$sleeper"
  [ ! -d "$UNIFIED$CG" ]
  [ -z "$(T2 list -q)" ]
}

@test "v2 exec falls back to the init's sub-cgroup once a domain controller makes the container's own refuse processes" {
  # cgroups.bats "runc exec (cgroup v2 + init process in non-root cgroup) succeeds". runc's test
  # enables memory; on this host the cgroup2 hierarchy has hugetlb only, a domain controller too.
  grep -qw hugetlb "$UNIFIED/cgroup.controllers" ||
    { echo "FATAL: no domain controller (hugetlb) on $UNIFIED to enable" >&2; return 1; }
  # teardown puts the root's subtree_control back as it was.
  grep -qw hugetlb "$UNIFIED/cgroup.subtree_control" || touch "$T/disable-hugetlb"
  mkdir -p "$UNIFIED/$PARENT"
  # The container's cgroup must be offered hugetlb by its parent.
  echo +hugetlb >"$UNIFIED/cgroup.subtree_control"
  echo +hugetlb >"$UNIFIED/$PARENT/cgroup.subtree_control"
  v2_cgroupns_bundle
  # An init without children: a child forked just before the move would stay behind in the
  # container's cgroup and keep the controller from being enabled.
  bundle_set_args "$B" sh -c 'echo ready > /tmp/ready; exec sleep 100000'
  T2 run -d --bundle "$B" "$ID" </dev/null >/dev/null
  wait_file "$B/rootfs/tmp/ready"
  run T2 exec "$ID" cat /sys/fs/cgroup/cgroup.controllers
  [[ $output == *hugetlb* ]]
  T2 exec "$ID" sh -euc 'mkdir /sys/fs/cgroup/foo; echo 1 > /sys/fs/cgroup/foo/cgroup.procs'
  # No domain controller below yet: an exec still joins the container's own cgroup.
  run T2 exec "$ID" cat /proc/self/cgroup
  [ "${lines[-1]}" = "0::/" ]
  T2 exec "$ID" sh -euc 'echo $$ > /sys/fs/cgroup/foo/cgroup.procs; echo +hugetlb > /sys/fs/cgroup/cgroup.subtree_control'
  # Now the container's cgroup may hold no process: the exec lands in the init's.
  run T2 exec "$ID" cat /proc/self/cgroup
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = "0::/foo" ]
  T2 delete --force "$ID"
  [ ! -d "$UNIFIED$CG" ]
}

@test "v2 shim: ctr task metrics answers io.containerd.cgroups.v2.Metrics read from the container's cgroup2 files" {
  [[ -c /dev/kvm ]] || { echo "FATAL: /dev/kvm missing: the shim's containers run as Dune processes" >&2; return 1; }
  [[ -x $SHIM ]] || { echo "FATAL: $SHIM missing (make build)" >&2; return 1; }
  # containerd, its shims and the dune they run all see the pure v2 view.
  local CD_WRAPPER=(unshare --mount --propagation private sh -c
    'umount -R /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec "$@"' v2)
  start_containerd "$CGROUPS_CD_DIR"
  make_oci_image_tar "$CD_DIR/busybox-oci.tar"
  ctr_ images import --base-name localhost/dune-e2e/busybox "$CD_DIR/busybox-oci.tar" >&2
  # --privileged: allow-all device rules (the v2 device program is cgroup2.bats' subject).
  # --cpu-shares 0: ctr asks 1024 by default, and this hierarchy has no cpu controller (0 is "not set").
  ctr_ run -d --privileged --cpu-shares 0 --runtime io.containerd.dune.v2 --cgroup "/$PARENT/$ID" \
    localhost/dune-e2e/busybox:latest "$ID" sh -c 'while :; do :; done' </dev/null
  wait_task_status "$ID" RUNNING
  [ -d "$UNIFIED/$PARENT/$ID" ]
  sleep 0.5
  run ctr_ task metrics --format json "$ID"
  echo "$output"
  [ "$status" -eq 0 ]
  # v2 field names (cpu.usage_usec) only exist in the v2 message; the busy loop has used CPU.
  [ "$(jq -r '.cpu.usage_usec' <<<"$output")" -gt 0 ]
  usage=$(awk '$1 == "usage_usec" {print $2}' "$UNIFIED/$PARENT/$ID/cpu.stat")
  [ "$(jq -r '.cpu.usage_usec' <<<"$output")" -le "$usage" ]
  # hugetlb is the one controller this cgroup2 hierarchy has: one entry per page size.
  if grep -qw hugetlb "$UNIFIED/$PARENT/$ID/cgroup.controllers"; then
    [ "$(jq -r '.hugetlb | length' <<<"$output")" -eq "$(ls "$UNIFIED/$PARENT/$ID" | grep -c '^hugetlb\.[0-9]*[KMG]B\.current$')" ]
  fi
  ctr_ task kill -s KILL "$ID"
  wait_task_status "$ID" STOPPED
  ctr_ task rm "$ID"
  ctr_ container rm "$ID"
  [ ! -d "$UNIFIED/$PARENT/$ID" ]
  stop_containerd
}
