#!/usr/bin/env bash
# `make bench`: dune against its peers, one interleaved run, results into docs/benchmarks.md.
#
#  1. Lifecycle latency: `R run --bundle B ID` on a busybox bundle whose process is `/bin/true`
#     (create + start + wait + delete in one command) for dune (Dune mode), dune --mode native,
#     runc, crun, runsc --platform=ptrace and runsc --platform=kvm. Round-robin, the order
#     rotates every round, warm-up rounds are run but not recorded.
#  2. Memory of one idle container (`sleep 1000`, detached): RSS and PSS summed over every
#     process of the container's memory cgroup plus any process that names the container id
#     (runtime-side helpers), and the cgroup's kernel memory.
#  3. containerd: `ctr run --rm IMAGE ID true` with the native shim, the runc shim + dune and the
#     runc shim + runc, interleaved (e2e/bench/shim.sh).
#  4. libdune's micro-benchmarks (`make -C libdune bench`) and a wall-clock CPU-bound check.
#  5. Single operations inside a container (e2e/bench/ops.sh, opsbench.c): getpid, open+close,
#     fork+exec+wait, pipe round trip, first touch in random order, a shell loop of 200
#     fork+execs, gcc hello world; Dune mode, native mode, runc, runsc ptrace, interleaved.
#  6. Servers in a container (e2e/bench/servers.sh): pgbench against PostgreSQL,
#     redis-benchmark against Redis, wrk against nginx, the same four runtimes, interleaved.
#     5 and 6 run in a Debian image built locally once (e2e/bench/image.sh, build/e2e/).
#  Then: targets of issues 2, 3, 4 and 12 checked and printed (a missed target is reported, never
#  an error: this is a measurement), docs/benchmarks.md section rewritten, two gnuplot PNGs.
#
#   DUNE=PATH              runtime under test (default build/bin/dune)
#   BENCH_ROUNDS=40        measured rounds         BENCH_WARMUP=3   warm-up rounds
#   BENCH_MEM_ROUNDS=5     idle-container samples per runtime (median reported)
#   BENCH_START_TIMEOUT=20 seconds runsc --platform=kvm gets before it counts as "did not start"
#   BENCH_SHIM_ROUNDS=30   measured rounds of the containerd shim comparison (0: skip it)
#   BENCH_LIBDUNE=0        skip libdune's micro-benchmarks (quick runs; the docs say so)
#   BENCH_OPS=1            0: skip the single operations   BENCH_OPS_ROUNDS=5  measured rounds
#   BENCH_OPS_MS=300       milliseconds each operation runs per round and runtime
#   BENCH_SERVERS=1        0: skip the servers             BENCH_SERVER_ROUNDS=3  rounds
#   BENCH_SERVER_SECONDS=5 seconds of load per measurement (redis-benchmark: BENCH_REDIS_REQUESTS)
#   BENCH_MD, BENCH_PNG, BENCH_MEM_PNG, BENCH_SHIM_PNG, BENCH_OPS_PNG, BENCH_SERVERS_PNG   outputs
#
# crun cannot run on this host's hybrid cgroup layout while /sys/fs/cgroup/unified is mounted,
# so every runtime runs inside one private mount namespace where it is unmounted.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
export DUNE=${DUNE:-$REPO/build/bin/dune}
[[ $DUNE == */* ]] || DUNE=$(command -v "$DUNE" || echo "$DUNE")
ROUNDS=${BENCH_ROUNDS:-40}
WARMUP=${BENCH_WARMUP:-3}
MEM_ROUNDS=${BENCH_MEM_ROUNDS:-5}
START_TIMEOUT=${BENCH_START_TIMEOUT:-20}
RUN_LIBDUNE=${BENCH_LIBDUNE:-1}
OUT_MD=${BENCH_MD:-$REPO/docs/benchmarks.md}
OUT_PNG=${BENCH_PNG:-$REPO/docs/benchmarks-lifecycle.png}
OUT_MEM_PNG=${BENCH_MEM_PNG:-$REPO/docs/benchmarks-memory.png}
OUT_SHIM_PNG=${BENCH_SHIM_PNG:-$REPO/docs/benchmarks-shim.png}
SHIM_ROUNDS=${BENCH_SHIM_ROUNDS:-30}
RUN_OPS=${BENCH_OPS:-1}
OPS_ROUNDS=${BENCH_OPS_ROUNDS:-5}
OPS_MS=${BENCH_OPS_MS:-300}
RUN_SERVERS=${BENCH_SERVERS:-1}
SERVER_ROUNDS=${BENCH_SERVER_ROUNDS:-3}
SERVER_SECONDS=${BENCH_SERVER_SECONDS:-5}
OUT_OPS_PNG=${BENCH_OPS_PNG:-$REPO/docs/benchmarks-ops.png}
OUT_SERVERS_PNG=${BENCH_SERVERS_PNG:-$REPO/docs/benchmarks-servers.png}
WORK=$REPO/build/bench

[[ $(id -u) == 0 ]] || { echo "bench: must run as root" >&2; exit 1; }

if [[ -z ${DUNE_BENCH_IN_NS:-} ]]; then
  export DUNE_BENCH_IN_NS=1
  exec unshare --mount --propagation private "$0" "$@"
fi
if mountpoint -q /sys/fs/cgroup/unified; then
  umount /sys/fs/cgroup/unified
fi

T_START=$(date +%s)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# Peers. runsc (gVisor) refuses the default network mode outside a prepared network namespace
# ("cannot run with network enabled in root network namespace"); --network=none keeps its
# loopback-only netstack, comparable to the empty network namespace the others create.
RUNSC_FLAGS=(--network=none)
names=(dune dune-native runc crun runsc-ptrace runsc-kvm)
declare -A label=(
  [dune]="dune (Dune mode)" [dune-native]="dune --mode native" [runc]="runc" [crun]="crun"
  [runsc-ptrace]="runsc --platform=ptrace" [runsc-kvm]="runsc --platform=kvm")
# optional peers may fail to start: they are reported as such and leave the rotation.
declare -A optional=([runsc-kvm]=1)
declare -A timeout_s=([runsc-kvm]=$START_TIMEOUT)
declare -A bin=([dune]=$DUNE [dune-native]=$DUNE [runc]=$(command -v runc || true)
  [crun]=$(command -v crun || true) [runsc-ptrace]=$(command -v runsc || true)
  [runsc-kvm]=$(command -v runsc || true))
for n in "${names[@]}"; do
  [[ -x ${bin[$n]} ]] || { echo "bench: $n binary '${bin[$n]}' missing (make deps)" >&2; exit 1; }
done

# rt NAME: sets RT to the command prefix of runtime NAME (global flags included).
rt() {
  local root=$WORK/root-$1
  case $1 in
    dune) RT=("$DUNE" --root "$root") ;;
    dune-native) RT=("$DUNE" --root "$root" --mode native) ;;
    runc | crun) RT=("${bin[$1]}" --root "$root") ;;
    runsc-ptrace) RT=("${bin[$1]}" --root "$root" "${RUNSC_FLAGS[@]}" --platform=ptrace) ;;
    runsc-kvm) RT=("${bin[$1]}" --root "$root" "${RUNSC_FLAGS[@]}" --platform=kvm) ;;
  esac
}

export E2E_REPO=$REPO
source "$REPO/e2e/lib/bundle.sh"
rm -rf "$WORK"
mkdir -p "$WORK"
make_bundle "$WORK/bundle" true
# One bundle for all runtimes: crun 1.8.1 rejects ociVersion 1.1+ ("unknown version
# specified"), so pin the version they all accept.
bundle_jq "$WORK/bundle" '.ociVersion = "1.0.2-dev"'
mkdir -p "$WORK/bundle-idle"
cp "$WORK/bundle/config.json" "$WORK/bundle-idle/"
bundle_jq "$WORK/bundle-idle" '.root.path = $r' --arg r "$WORK/bundle/rootfs"
bundle_set_args "$WORK/bundle-idle" sleep 1000
for n in "${names[@]}"; do mkdir -p "$WORK/root-$n"; : >"$WORK/$n.us"; done

declare -A failed=()   # NAME -> why it left the rotation

# pids_naming ID: PIDs of processes that have ID as one of their arguments.
pids_naming() {
  local f p
  for f in /proc/[0-9]*/cmdline; do
    p=${f#/proc/}; p=${p%/cmdline}
    [[ $p == "$$" || $p == "$BASHPID" ]] && continue
    tr '\0' '\n' 2>/dev/null <"$f" | grep -qxF -- "$1" && echo "$p"
  done
  return 0
}

# cleanup NAME ID: force-deletes a container that a timeout or a failure left behind, and
# ends (by PID) any process that still names it.
cleanup() {
  local p
  rt "$1"
  "${RT[@]}" delete --force "$2" >/dev/null 2>&1 || true
  for p in $(pids_naming "$2"); do kill -KILL "$p" 2>/dev/null || true; done
  # runsc killed by `timeout` leaves its (empty) cgroups /ID behind in every hierarchy
  sleep 0.2
  rmdir /sys/fs/cgroup/*/"$2" 2>/dev/null || true
}

# fail NAME WHY: an optional peer leaves the rotation; a required one ends the benchmark.
fail() {
  if [[ -n ${optional[$1]:-} ]]; then
    failed[$1]=$2
    echo "bench: ${label[$1]}: $2 (left out of the rest of the run)" >&2
  else
    echo "bench: ${label[$1]} failed: $2" >&2
    exit 1
  fi
}

# lifecycle NAME ROUND: one create+start+wait+delete; sets US to its wall time (µs).
lifecycle() {
  local n=$1 id="bench-$1-$2" t0 t1 rc=0 tmo=()
  rt "$n"
  [[ -n ${timeout_s[$n]:-} ]] && tmo=(timeout -k 5 "${timeout_s[$n]}")
  t0=${EPOCHREALTIME/./}
  "${tmo[@]}" "${RT[@]}" run --bundle "$WORK/bundle" "$id" </dev/null >"$WORK/last.out" 2>&1 || rc=$?
  t1=${EPOCHREALTIME/./}
  US=$((t1 - t0))
  if ((rc == 124 && ${#tmo[@]})); then
    cleanup "$n" "$id"
    fail "$n" "did not start within ${timeout_s[$n]} s"
    return 1
  elif ((rc != 0)); then
    cleanup "$n" "$id"
    fail "$n" "exit status $rc: $(tail -n 3 "$WORK/last.out" | tr '\n' ' ')"
    return 1
  fi
}

# ---------------------------------------------------------------------------- 1. lifecycle
echo "bench: lifecycle, $WARMUP warm-up + $ROUNDS measured rounds of: ${names[*]}"
for ((r = 0; r < WARMUP + ROUNDS; r++)); do
  for ((k = 0; k < ${#names[@]}; k++)); do
    n=${names[$(((r + k) % ${#names[@]}))]}
    [[ -z ${failed[$n]:-} ]] || continue
    lifecycle "$n" "$r" || continue
    ((r < WARMUP)) || echo "$((r - WARMUP)) $US" >>"$WORK/$n.us"
  done
  printf '.'
done
echo

# stats FILE: median p90 mean min max (ms, 2 decimals) of the second column.
stats() {
  awk '{print $2}' "$1" | sort -n | awk '{v[NR] = $1; s += $1}
    END {
      n = NR; med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
      p = int(0.9 * n + 0.999999); if (p < 1) p = 1
      printf "%.2f %.2f %.2f %.2f %.2f\n", med / 1000, v[p] / 1000, s / n / 1000, v[1] / 1000, v[n] / 1000
    }'
}
# wins A B: rounds in which A was faster than B, out of the rounds both ran ("k/n").
wins() {
  awk 'NR == FNR {b[$1] = $2; next} ($1 in b) {n++; if ($2 < b[$1]) k++} END {printf "%d/%d", k, n}' "$2" "$1"
}
# le A B: exit 0 when A <= B (decimals)
le() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a + 0 <= b + 0)}'; }
verdict() { if "$@"; then echo "**met**"; else echo "**NOT met**"; fi; }

ran=()
declare -A med p90 mean min max
for n in "${names[@]}"; do
  [[ -z ${failed[$n]:-} && -s $WORK/$n.us ]] || continue
  ran+=("$n")
  read -r med[$n] p90[$n] mean[$n] min[$n] max[$n] < <(stats "$WORK/$n.us")
done

# ---------------------------------------------------------------------------- 2. memory
# idle NAME ROUND: starts one idle container, sums its processes' memory into $WORK/NAME.mem
# as "rss_kib pss_kib kmem_kib nprocs".
idle() {
  local n=$1 id="bench-idle-$1-$2" rc=0 tmo=() pid cg procs p rss=0 pss=0 kmem=na np=0 v
  rt "$n"
  [[ -n ${timeout_s[$n]:-} ]] && tmo=(timeout -k 5 "${timeout_s[$n]}")
  "${tmo[@]}" "${RT[@]}" run --detach --bundle "$WORK/bundle-idle" "$id" </dev/null >"$WORK/last.out" 2>&1 || rc=$?
  if ((rc != 0)); then
    cleanup "$n" "$id"
    if ((rc == 124 && ${#tmo[@]})); then fail "$n" "did not start within ${timeout_s[$n]} s"
    else fail "$n" "idle container: exit status $rc: $(tail -n 3 "$WORK/last.out" | tr '\n' ' ')"; fi
    return 0
  fi
  sleep 1   # let the runtimes' helpers settle
  pid=$("${RT[@]}" state "$id" | jq -r '.pid')
  [[ $("${RT[@]}" state "$id" | jq -r '.status') == running ]] || { cleanup "$n" "$id"; fail "$n" "idle container not running"; return 0; }
  cg=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' "/proc/$pid/cgroup")
  procs=$( { cat "/sys/fs/cgroup/memory$cg/cgroup.procs" 2>/dev/null; echo "$pid"; pids_naming "$id"; } | sort -un)
  for p in $procs; do
    v=$(awk '/^Rss:/ {r = $2} /^Pss:/ {s = $2} END {if (r != "") print r, s}' "/proc/$p/smaps_rollup" 2>/dev/null) || continue
    [[ -n $v ]] || continue
    rss=$((rss + ${v% *})); pss=$((pss + ${v#* })); np=$((np + 1))
  done
  if [[ -n $cg && $cg != / && -r /sys/fs/cgroup/memory$cg/memory.kmem.usage_in_bytes ]]; then
    kmem=$(($(cat "/sys/fs/cgroup/memory$cg/memory.kmem.usage_in_bytes") / 1024))
  fi
  # Are we measuring what the label says? A Dune-mode container holds a KVM VM; others do not.
  v=$(find "/proc/$pid/fd" -lname 'anon_inode:kvm-vm' 2>/dev/null | wc -l)
  if [[ $n == dune && $v == 0 ]]; then cleanup "$n" "$id"; fail "$n" "idle container holds no KVM VM: not in Dune mode"; fi
  if [[ $n == dune-native && $v != 0 ]]; then cleanup "$n" "$id"; fail "$n" "native container holds a KVM VM"; fi
  echo "$rss $pss $kmem $np" >>"$WORK/$n.mem"
  echo "$procs" | tr '\n' ' ' >"$WORK/$n.memprocs"
  "${RT[@]}" delete --force "$id" >/dev/null 2>&1 || cleanup "$n" "$id"
}

LOAD_LIFECYCLE=$(cut -d' ' -f1-3 /proc/loadavg) T_LIFECYCLE=$(date +%s)
echo "bench: memory of one idle container, $MEM_ROUNDS rounds"
for n in "${names[@]}"; do : >"$WORK/$n.mem"; done
for ((r = 0; r < MEM_ROUNDS; r++)); do
  for ((k = 0; k < ${#names[@]}; k++)); do
    n=${names[$(((r + k) % ${#names[@]}))]}
    [[ -z ${failed[$n]:-} ]] || continue
    idle "$n" "$r"
  done
  printf '.'
done
echo

declare -A mrss mpss mkmem mnp
# colmed FILE COL: median of column COL ("na" when the column is not numeric)
colmed() {
  awk -v c="$2" '$c ~ /^[0-9]+$/ {print $c}' "$1" | sort -n | awk '{v[NR] = $1}
    END {if (!NR) print "na"; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
mib() { if [[ $1 == na ]]; then echo "n/a"; else awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; fi; }
mem_ran=()
for n in "${names[@]}"; do
  [[ -z ${failed[$n]:-} && -s $WORK/$n.mem ]] || continue
  mem_ran+=("$n")
  mrss[$n]=$(colmed "$WORK/$n.mem" 1); mpss[$n]=$(colmed "$WORK/$n.mem" 2)
  mkmem[$n]=$(colmed "$WORK/$n.mem" 3); mnp[$n]=$(colmed "$WORK/$n.mem" 4)
done

# ---------------------------------------------------------------------------- 3. shims
LOAD_MEMORY=$(cut -d' ' -f1-3 /proc/loadavg) T_MEMORY=$(date +%s)
source "$REPO/e2e/bench/shim.sh"
shim_ran=()
if ((SHIM_ROUNDS > 0)); then
  echo "bench: ctr run --rm true through containerd, $SHIM_ROUNDS rounds"
  shim_bench "$SHIM_ROUNDS" "$WARMUP" || { echo "bench: the shim comparison failed" >&2; exit 1; }
  for n in "${shim_names[@]}"; do
    shim_ran+=("$n")
    read -r med[$n] p90[$n] mean[$n] min[$n] max[$n] < <(stats "$WORK/$n.us")
  done
fi
LOAD_SHIM=$(cut -d' ' -f1-3 /proc/loadavg) T_SHIM=$(date +%s)

# ---------------------------------------------------------------------------- 4. libdune
libdune_md=""
cpu_native="" cpu_dune=""
if [[ $RUN_LIBDUNE != 0 ]]; then
  echo "bench: make -C libdune bench"
  if make -C "$REPO/libdune" bench BENCH_OUT="$WORK/libdune.md" >"$WORK/libdune.log" 2>&1; then
    libdune_md=$WORK/libdune.md
    # CPU-bound loop as whole-process wall time, interleaved: libdune's table prints ns per
    # iteration with one decimal, too coarse for a 0.95x threshold.
    guest=$REPO/libdune/bench/build/guest dune_run=$REPO/build/bin/dune-run
    if [[ -x $guest && -x $dune_run ]]; then
      # dune-run needs a policy (libdune/README.md, "Policy format"): allow-all, as libdune's own
      echo '{"dunePolicy":1,"defaultAction":"SCMP_ACT_ALLOW","syscalls":[]}' >"$WORK/allow-all.json"
      : >"$WORK/cpu.native"; : >"$WORK/cpu.dune"
      for ((r = 0; r < 5; r++)); do
        t0=${EPOCHREALTIME/./}; "$guest" cpu 1000000000 >/dev/null; t1=${EPOCHREALTIME/./}
        echo "$r $((t1 - t0))" >>"$WORK/cpu.native"
        t0=${EPOCHREALTIME/./}; "$dune_run" --policy "$WORK/allow-all.json" "$guest" cpu 1000000000 >/dev/null; t1=${EPOCHREALTIME/./}
        echo "$r $((t1 - t0))" >>"$WORK/cpu.dune"
      done
      # best run of each: other jobs on the shared CPUs only ever add time to a CPU-bound run
      cpu_native=$(stats "$WORK/cpu.native" | cut -d' ' -f4)
      cpu_dune=$(stats "$WORK/cpu.dune" | cut -d' ' -f4)
    fi
  else
    echo "bench: WARNING: make -C libdune bench failed (log: $WORK/libdune.log)" >&2
    tail -n 20 "$WORK/libdune.log" >&2
  fi
fi

LOAD_LIBDUNE=$(cut -d' ' -f1-3 /proc/loadavg) T_LIBDUNE=$(date +%s)

# ---------------------------------------------------------------------------- 5, 6. image
# Why a part did not run ("" when it ran); reported in its section.
ops_skip="" srv_skip=""
[[ $RUN_OPS != 0 ]] || ops_skip="not run (BENCH_OPS=0)"
[[ $RUN_SERVERS != 0 ]] || srv_skip="not run (BENCH_SERVERS=0)"
source "$REPO/e2e/bench/image.sh"
source "$REPO/e2e/bench/table.sh"
source "$REPO/e2e/bench/ops.sh"
source "$REPO/e2e/bench/servers.sh"
if [[ -z $ops_skip || -z $srv_skip ]] && ! bench_image_build; then
  echo "bench: WARNING: the bench image (e2e/bench/image.sh) could not be built: no single operations, no servers" >&2
  [[ -n $ops_skip ]] || ops_skip="not run: the bench image (e2e/bench/image.sh) could not be built"
  [[ -n $srv_skip ]] || srv_skip="not run: the bench image (e2e/bench/image.sh) could not be built"
fi

T_IMAGE=$(date +%s)

# ---------------------------------------------------------------------------- 5. ops
if [[ -z $ops_skip ]]; then
  echo "bench: single operations inside a container, 1 warm-up + $OPS_ROUNDS rounds of ${ops_names[*]}"
  ops_bench "$OPS_ROUNDS" "$OPS_MS" || { echo "bench: the single-operation benchmark could not be set up" >&2; exit 1; }
  ((${#ops_ran[@]})) || ops_skip="no runtime ran it: ${ops_failed[*]}"
fi
LOAD_OPS=$(cut -d' ' -f1-3 /proc/loadavg) T_OPS=$(date +%s)

# ---------------------------------------------------------------------------- 6. servers
if [[ -z $srv_skip ]]; then
  echo "bench: servers in a container, $SERVER_ROUNDS rounds of ${srv_list[*]} under ${srv_names[*]}"
  servers_bench "$SERVER_ROUNDS" "$SERVER_SECONDS" || { echo "bench: the server benchmark could not be set up" >&2; exit 1; }
  ((${#srv_ran[@]})) || srv_skip="no runtime ran them: $(srv_notes | tr '\n' ' ')"
fi
LOAD_SERVERS=$(cut -d' ' -f1-3 /proc/loadavg) T_SERVERS=$(date +%s)

# ---------------------------------------------------------------------------- report
T_END=$(date +%s)
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
mem_total=$(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
kvm_mods=$(cd /sys/module && ls -d kvm* 2>/dev/null | tr '\n' ' ' | sed 's/ $//')
if [[ ! -c /dev/kvm ]]; then
  kvm_kind="no /dev/kvm"
elif grep -qwE 'vmx|svm' /proc/cpuinfo; then
  kvm_kind="hardware VMX/SVM flag present (modules: $kvm_mods)"
elif [[ -d /sys/module/kvm_pvm ]]; then
  kvm_kind="paravirtual nested kvm_pvm, no VMX/SVM flag in /proc/cpuinfo (modules: $kvm_mods)"
else
  kvm_kind="/dev/kvm without VMX/SVM flag (modules: $kvm_mods)"
fi
grep -qw hypervisor /proc/cpuinfo && kvm_kind="$kvm_kind; the host itself is a VM (hypervisor flag)"
ver() { "$@" 2>/dev/null | head -n1 | tr -s ' ' || echo "?"; }

section=$WORK/section.md
{
  echo "_Generated by \`make bench\` (e2e/bench/run.sh) on $(date -u '+%Y-%m-%d %H:%M UTC'); the whole run took $((T_END - T_START)) s._"
  echo
  echo "## Host"
  echo
  echo "| | |"
  echo "| --- | --- |"
  echo "| kernel | $(uname -r) |"
  echo "| CPU | $cpu_model, $(nproc) CPUs (shared with other jobs) |"
  echo "| memory | $mem_total |"
  echo "| KVM | $kvm_kind |"
  echo "| load average (1, 5, 15 min; the benchmark itself adds about 1) | before: $LOAD_BEFORE; after the lifecycle rounds: $LOAD_LIFECYCLE; after the memory rounds: $LOAD_MEMORY; after the shim rounds: $LOAD_SHIM; after libdune's: $LOAD_LIBDUNE; after the single operations: $LOAD_OPS; after the servers: $LOAD_SERVERS; at the end: $LOAD_AFTER |"
  echo "| seconds per part | lifecycle $((T_LIFECYCLE - T_START)), memory $((T_MEMORY - T_LIFECYCLE)), shims $((T_SHIM - T_MEMORY)), libdune $((T_LIBDUNE - T_SHIM)), bench image $((T_IMAGE - T_LIBDUNE)) (0 when cached), single operations $((T_OPS - T_IMAGE)), servers $((T_SERVERS - T_OPS)) |"
  echo "| dune | \`$DUNE\` ($(ver "$DUNE" --version)) |"
  echo "| peers | $(ver runc --version); $(ver crun --version); $(ver runsc --version) |"
  echo "| runsc flags | \`${RUNSC_FLAGS[*]} --platform=ptrace\` and \`${RUNSC_FLAGS[*]} --platform=kvm\`; --platform=kvm gets ${START_TIMEOUT} s (\`timeout\`) per start |"
  echo
  echo "## Container lifecycle: create + start + wait + delete of \`/bin/true\`"
  echo
  echo "\`R --root DIR [FLAGS] run --bundle B ID\` (create, start, wait, delete in one command) on a"
  echo "busybox bundle whose process is \`true\`, wall time measured by bash around each command."
  echo "$ROUNDS measured rounds after $WARMUP warm-up rounds; in each round every runtime runs once,"
  echo "in an order that rotates every round. All runtimes run in one private mount namespace with"
  echo "/sys/fs/cgroup/unified unmounted (crun needs that on this hybrid cgroup v1 host)."
  echo "\"faster than runc\" counts the rounds in which the runtime beat runc of the same round."
  echo
  echo "| runtime | median ms | p90 ms | mean ms | min ms | max ms | median / runc | faster than runc |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for n in "${names[@]}"; do
    if [[ -n ${med[$n]:-} ]]; then
      echo "| ${label[$n]} | ${med[$n]} | ${p90[$n]} | ${mean[$n]} | ${min[$n]} | ${max[$n]} | $(ratio "${med[$n]}" "${med[runc]}")x | $([[ $n == runc ]] && echo - || echo "$(wins "$WORK/$n.us" "$WORK/runc.us") rounds") |"
    else
      echo "| ${label[$n]} | ${failed[$n]:-no data} | | | | | | |"
    fi
  done
  echo
  echo "![lifecycle latency: medians with p90 bars](benchmarks-lifecycle.png)"
  echo
  echo "## Memory of one idle container (\`sleep 1000\`)"
  echo
  echo "One detached container per runtime at a time, measured 1 s after \`run --detach\` returned,"
  echo "$MEM_ROUNDS rounds (rotating order), median reported. RSS and PSS are summed from"
  echo "/proc/PID/smaps_rollup over every process in the container's memory cgroup plus any"
  echo "process that has the container id among its arguments (runtime helpers such as runsc's"
  echo "sandbox and gofer; dune, runc and crun leave none). Kernel memory is the cgroup's"
  echo "memory.kmem.usage_in_bytes: it holds what KVM allocates for a Dune process (shadow page"
  echo "tables, memslot metadata, vCPU state), which no RSS shows."
  echo
  echo "| runtime | processes | RSS MiB | PSS MiB | cgroup kernel memory MiB | RSS - native RSS MiB |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: |"
  for n in "${names[@]}"; do
    if [[ -n ${mrss[$n]:-} ]]; then
      d=n/a
      [[ -n ${mrss[dune-native]:-} ]] && d=$(awk -v a="${mrss[$n]}" -v b="${mrss[dune-native]}" 'BEGIN {printf "%+.1f", (a - b) / 1024}')
      echo "| ${label[$n]} | ${mnp[$n]} | $(mib "${mrss[$n]}") | $(mib "${mpss[$n]}") | $(mib "${mkmem[$n]}") | $d |"
    else
      echo "| ${label[$n]} | ${failed[$n]:-no data} | | | | |"
    fi
  done
  echo
  echo "![memory of one idle container](benchmarks-memory.png)"
  echo
  echo "## containerd: \`ctr run --rm IMAGE ID true\` through each shim"
  echo
  if ((${#shim_ran[@]})); then
    echo "A private containerd ($(ver containerd --version | cut -d' ' -f1-3), CRI plugin off) runs a busybox image's \`true\`"
    echo "with \`ctr run --rm\`: shim start, create, start, wait, delete, the shim's exit and"
    echo "containerd's \`shim delete\`, wall time around each \`ctr\`. $SHIM_ROUNDS measured rounds after"
    echo "$WARMUP warm-up rounds, one run of each shim per round, rotating order."
    echo
    echo "| runtime | median ms | p90 ms | mean ms | min ms | max ms | median / runc shim + dune | faster than runc shim + dune |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for n in "${shim_names[@]}"; do
      echo "| ${shim_label[$n]} | ${med[$n]} | ${p90[$n]} | ${mean[$n]} | ${min[$n]} | ${max[$n]} | $(ratio "${med[$n]}" "${med[runc-shim-dune]}")x | $([[ $n == runc-shim-dune ]] && echo - || echo "$(wins "$WORK/$n.us" "$WORK/runc-shim-dune.us") rounds") |"
    done
    echo
    echo "![ctr run --rm true through each shim](benchmarks-shim.png)"
  else
    echo "Not run (BENCH_SHIM_ROUNDS=0)."
  fi
  echo
  echo "## Inside a container: the cost of single operations"
  echo
  if [[ -z $ops_skip ]]; then
    echo "\`e2e/bench/opsbench.c\` (static) runs in a container of the bench image (Debian bookworm"
    echo "with gcc, read-only root, tmpfs /tmp) under each runtime: \`R run\` per runtime per round,"
    echo "1 warm-up round and $OPS_ROUNDS measured rounds, the order of the runtimes rotating every round."
    echo "In one run each operation repeats for about $OPS_MS ms in batches; the program prints the"
    echo "median over its batches; the table has the median over the rounds and, in brackets, that"
    echo "median divided by runc's. Lower is better."
    echo
    ops_table
    for n in "${ops_names[@]}"; do
      [[ -z ${ops_failed[$n]:-} ]] || printf '\n%s\n' "${label[$n]}: ${ops_failed[$n]}."
    done
    echo
    echo "![single operations relative to runc](benchmarks-ops.png)"
  else
    echo "${ops_skip^}."
  fi
  echo
  echo "## Servers in a container"
  echo
  if [[ -z $srv_skip ]]; then
    echo "Each server runs detached in a container of the bench image, in the host's network"
    echo "namespace (runsc: \`--network=host\`), listening on 127.0.0.1; the load generator runs on the"
    echo "host, chrooted into the same image, over loopback. Per round and server the runtimes take"
    echo "turns in a rotating order: \`R run --detach\`, wait for the port, 1 s of warm-up load, the"
    echo "measured load, \`R delete --force\`. $SERVER_ROUNDS rounds; median and, in brackets, median / runc's."
    echo "pgbench: 4 clients, 2 threads, TPC-B-like script, ${SERVER_SECONDS} s, PostgreSQL 15 with fsync,"
    echo "synchronous_commit and full_page_writes off on a tmpfs copy of a scale-1 database."
    echo "redis-benchmark: 16 clients, ${BENCH_REDIS_REQUESTS:-20000} SET then as many GET requests."
    echo "wrk: 2 threads, 16 connections, ${SERVER_SECONDS} s, GET of nginx's 615-byte default page, one worker."
    echo "Higher is better."
    echo
    srv_table
    notes=$(srv_notes)
    [[ -z $notes ]] || printf '\n%s\n' "$notes"
    echo
    echo "![server throughput relative to runc](benchmarks-servers.png)"
  else
    echo "${srv_skip^}."
  fi
  echo
  echo "## Targets"
  echo
  echo
  echo "| target (issue) | measured | result |"
  echo "| --- | --- | --- |"
  # lifecycle
  if [[ -n ${med[dune]:-} && -n ${med[runc]:-} ]]; then
    echo "| Dune mode median <= runc median (4) | ${med[dune]} ms vs ${med[runc]} ms ($(ratio "${med[dune]}" "${med[runc]}")x) | $(verdict le "${med[dune]}" "${med[runc]}") |"
  fi
  if [[ -n ${med[dune-native]:-} && -n ${med[runc]:-} ]]; then
    echo "| native mode median <= runc median (2) | ${med[dune-native]} ms vs ${med[runc]} ms ($(ratio "${med[dune-native]}" "${med[runc]}")x) | $(verdict le "${med[dune-native]}" "${med[runc]}") |"
  fi
  if [[ -n ${med[dune-native]:-} && -n ${med[crun]:-} ]]; then
    echo "| stretch: native mode median <= crun median (2) | ${med[dune-native]} ms vs ${med[crun]} ms ($(ratio "${med[dune-native]}" "${med[crun]}")x) | $(verdict le "${med[dune-native]}" "${med[crun]}") |"
  fi
  for s in runsc-ptrace runsc-kvm; do
    if [[ -n ${med[dune]:-} && -n ${med[$s]:-} ]]; then
      echo "| Dune mode >= 5x faster than ${label[$s]} (4) | ${med[$s]} ms / ${med[dune]} ms = $(ratio "${med[$s]}" "${med[dune]}")x | $(verdict le 5 "$(ratio "${med[$s]}" "${med[dune]}")") |"
    elif [[ -n ${failed[$s]:-} ]]; then
      echo "| Dune mode >= 5x faster than ${label[$s]} (4) | ${label[$s]} ${failed[$s]}; no latency to compare | not measurable here |"
    fi
  done
  if ((${#shim_ran[@]})); then
    echo "| native shim median <= runc shim + dune median (5) | ${med[shim-dune]} ms vs ${med[runc-shim-dune]} ms ($(ratio "${med[shim-dune]}" "${med[runc-shim-dune]}")x; runc shim + runc: ${med[runc-shim-runc]} ms) | $(verdict le "${med[shim-dune]}" "${med[runc-shim-dune]}") |"
  fi
  if [[ -n ${mrss[dune]:-} && -n ${mrss[dune-native]:-} ]]; then
    d=$(awk -v a="${mrss[dune]}" -v b="${mrss[dune-native]}" 'BEGIN {printf "%.1f", (a - b) / 1024}')
    dk=na
    [[ ${mkmem[dune]} != na && ${mkmem[dune-native]} != na ]] &&
      dk=$(awk -v a="${mrss[dune]}" -v b="${mrss[dune-native]}" -v c="${mkmem[dune]}" -v e="${mkmem[dune-native]}" 'BEGIN {printf "%.1f", (a + c - b - e) / 1024}')
    echo "| Dune mode idle RSS <= native + 10 MiB (4) | +$d MiB RSS (RSS + cgroup kernel memory: +$dk MiB) | $(verdict le "$d" 10) |"
  fi
  if [[ -z $ops_skip && -n $(ops_median dune getpid) ]]; then
    v=$(ops_median dune getpid)
    echo "| Dune mode getpid inside a container <= 3 µs (12): the raw system call (every call an exit) | $(ops_fmt "$v") | $(verdict le "$v" 3000) |"
    if [[ -n $(ops_median dune getpidlibc) ]]; then
      v=$(ops_median dune getpidlibc)
      echo "| Dune mode getpid inside a container <= 3 µs (12): libc's getpid() (a fast call, answered in the guest) | $(ops_fmt "$v") | $(verdict le "$v" 3000) |"
    fi
    if [[ -n $(ops_median runc forkexec) ]]; then
      v=$(ratio "$(ops_median dune forkexec)" "$(ops_median runc forkexec)")
      echo "| Dune mode fork+exec+wait <= 3x runc (12) | $(ops_fmt "$(ops_median dune forkexec)") vs $(ops_fmt "$(ops_median runc forkexec)") (${v}x) | $(verdict le "$v" 3) |"
    fi
  fi
  if [[ -n $libdune_md ]]; then
    lm=$(cat "$libdune_md")
    fl=$(grep -oP 'exit floor.*?: \K[0-9.]+(?=x \(target)' <<<"$lm" || echo n/a)
    ptp=$(grep -oP 'pinned ptrace getpid: \K[0-9.]+(?=x)' <<<"$lm" || echo n/a)
    ptu=$(grep -oP 'unpinned ptrace: \K[0-9.]+(?=x)' <<<"$lm" || echo n/a)
    cpu=$(grep -oP '^\| CPU-bound loop.*\| \K[0-9.]+(?= \(target)' <<<"$lm" || echo n/a)
    pf=$(grep -oP 'Page fault under dune-run / native: \K[0-9.]+(?=x)' <<<"$lm" || echo n/a)
    [[ $fl == n/a ]] && v1="n/a" || v1=$(verdict le "$fl" 1.5)
    echo "| sandboxed getpid <= 1.5x bare exit round trip (3) | ${fl}x | $v1 |"
    yn() { if [[ $1 == n/a ]]; then echo n/a; elif le "$1" 1; then echo yes; else echo no; fi; }
    echo "| sandboxed getpid vs ptrace getpid (3: ratio reported; beat ptrace if an exit path allows) | ${ptp}x pinned ptrace, ${ptu}x unpinned ptrace (below 1 = faster than ptrace) | faster than pinned ptrace: **$(yn "$ptp")**; than unpinned: **$(yn "$ptu")** |"
    if [[ -n $cpu_native && -n $cpu_dune ]]; then
      cr=$(ratio "$cpu_native" "$cpu_dune")
      echo "| CPU-bound loop under dune-run >= 0.95x native (3) | whole-process wall time, best of 5 interleaved runs: native $cpu_native ms, dune-run $cpu_dune ms = ${cr}x (libdune's table, 1-decimal ns per iteration: ${cpu}x) | $(verdict le 0.95 "$cr") |"
    else
      [[ $cpu == n/a ]] && v3="n/a" || v3=$(verdict le 0.95 "$cpu")
      echo "| CPU-bound loop under dune-run >= 0.95x native (3) | ${cpu}x | $v3 |"
    fi
    [[ $pf == n/a ]] && v4="n/a" || v4=$(verdict le "$pf" 3)
    echo "| first-touch page fault under dune-run <= 3x native (3) | ${pf}x | $v4 |"
  else
    echo "| libdune targets (3) | libdune's benchmarks $( [[ $RUN_LIBDUNE == 0 ]] && echo "not run (BENCH_LIBDUNE=0)" || echo "failed in this run") | not measured |"
  fi
  echo
} >"$section"
# one plain sentence under the targets table: which are missed
missed=$(awk -F' \\| ' '/^\| / && /\*\*NOT met\*\*/ {sub(/^\| /, "", $1); print $1}' "$section" | paste -sd ';' | sed 's/;/; /g')
nmet=$(grep -c '| \*\*met\*\* |' "$section" || true)
nmiss=$(grep -c '\*\*NOT met\*\*' "$section" || true)
{
  if ((nmiss)); then
    echo "**In this run $nmet targets are met and $nmiss are not met: $missed.**"
  else
    echo "**In this run all $nmet measurable targets are met.**"
  fi
  echo
  if [[ -n $libdune_md ]]; then
    echo "## libdune micro-benchmarks (\`make -C libdune bench\`, issue 3)"
    echo
    # demote libdune's headings one level; its title is replaced by ours
    sed -e '1{/^# /{N;d}}' -e 's/^#/##/' "$libdune_md"
  fi
} >>"$section"

# Replace our section of docs/benchmarks.md (between the markers), keep the rest.
begin='<!-- bench:begin (generated by e2e/bench/run.sh: edits inside are overwritten) -->'
end='<!-- bench:end -->'
replace_section "$OUT_MD" "$begin" "$end" "$section"

# ---------------------------------------------------------------------------- plots
# plotmsg NAME: why NAME has no bar, safe inside a gnuplot string
plotmsg() { local m=${failed[$1]:-no data}; m=${m//[\"\\]/}; echo "${m:0:60}"; }
# latency_plot PNG WHAT ROUNDS N XTICS LABELS MEDIANS SAMPLES: median bars with p90 whiskers and
# every sample, for N runtimes (MEDIANS: "x median p90"; SAMPLES: "x ms").
latency_plot() {
  gnuplot <<GP
set terminal pngcairo size 1000,580 noenhanced font ",11"
set bmargin 4.5
set output "$1"
set title "$2: median (bar) and p90 (whisker), $3 interleaved rounds"
set ylabel "ms"
set yrange [0:*]
set xrange [-0.6:$4-0.4]
set xtics ($5) font ",10"
set boxwidth 0.6
set style fill solid 0.35
set grid ytics
set key top left
$6
plot "$7" using 1:2 with boxes lc rgb "#4477aa" title "median", \
     "$7" using 1:2:2:3 with yerrorbars lc rgb "black" pt 0 lw 2 title "p90", \
     "$8" using (\$1 + (rand(0) - 0.5) * 0.35):2 with points pt 7 ps 0.4 lc rgb "#cc6677" title "samples", \
     "$7" using 1:(0):(sprintf("median %.1f ms", \$2)) with labels offset 0,0.8 font ",10" notitle
GP
}
if command -v gnuplot >/dev/null; then
  xt="" lbl="" lbl_mem="" i=0
  : >"$WORK/samples.dat"; : >"$WORK/medians.dat"; : >"$WORK/mem.dat"
  for n in "${names[@]}"; do
    xt+="${xt:+, }\"${label[$n]/ --/\\n--}\" $i"
    if [[ -n ${med[$n]:-} ]]; then
      awk -v x="$i" '{printf "%d %.3f\n", x, $2 / 1000}' "$WORK/$n.us" >>"$WORK/samples.dat"
      echo "$i ${med[$n]} ${p90[$n]}" >>"$WORK/medians.dat"
    else
      lbl+="set label \"$(plotmsg "$n")\" at $i, graph 0.5 center rotate by 90 font \",9\""$'\n'
    fi
    if [[ -z ${mrss[$n]:-} ]]; then
      lbl_mem+="set label \"$(plotmsg "$n")\" at $i, graph 0.5 center rotate by 90 font \",9\""$'\n'
    else
      echo "$i $(mib "${mrss[$n]}") $(mib "${mpss[$n]}") $(mib "${mkmem[$n]}" | sed 's#n/a#0#')" >>"$WORK/mem.dat"
    fi
    i=$((i + 1))
  done
  latency_plot "$OUT_PNG" "create+start+wait+delete of /bin/true" "$ROUNDS" ${#names[@]} "$xt" "$lbl" "$WORK/medians.dat" "$WORK/samples.dat"
  # memory: clustered bars per runtime (RSS, PSS, cgroup kernel memory)
  gnuplot <<GP
set terminal pngcairo size 1000,580 noenhanced font ",11"
set bmargin 4.5
set output "$OUT_MEM_PNG"
set title "memory of one idle container (sleep 1000), median of $MEM_ROUNDS"
set ylabel "MiB"
set yrange [0:*]
set xrange [-0.6:${#names[@]}-0.4]
set xtics ($xt) font ",10"
set boxwidth 0.25
set style fill solid 0.6
set grid ytics
set key top left
$lbl_mem
plot "$WORK/mem.dat" using (\$1 - 0.27):2 with boxes lc rgb "#4477aa" title "RSS (sum of processes)", \
     "$WORK/mem.dat" using 1:3 with boxes lc rgb "#228833" title "PSS", \
     "$WORK/mem.dat" using (\$1 + 0.27):4 with boxes lc rgb "#ccbb44" title "cgroup kernel memory", \
     "$WORK/mem.dat" using (\$1 - 0.27):2:2 with labels offset 0,0.7 font ",9" notitle
GP
  [[ -n $ops_skip ]] || ops_plot "$OUT_OPS_PNG" "$OPS_ROUNDS"
  [[ -n $srv_skip ]] || srv_plot "$OUT_SERVERS_PNG" "$SERVER_ROUNDS"
  if ((${#shim_ran[@]})); then
    xt="" i=0
    : >"$WORK/shim-samples.dat"; : >"$WORK/shim-medians.dat"
    for n in "${shim_names[@]}"; do
      xt+="${xt:+, }\"${shim_label[$n]/ + /\\n+ }\" $i"
      awk -v x="$i" '{printf "%d %.3f\n", x, $2 / 1000}' "$WORK/$n.us" >>"$WORK/shim-samples.dat"
      echo "$i ${med[$n]} ${p90[$n]}" >>"$WORK/shim-medians.dat"
      i=$((i + 1))
    done
    latency_plot "$OUT_SHIM_PNG" "ctr run --rm busybox true" "$SHIM_ROUNDS" ${#shim_names[@]} "$xt" "" \
      "$WORK/shim-medians.dat" "$WORK/shim-samples.dat"
  fi
else
  echo "bench: WARNING: gnuplot missing (apt-get install gnuplot-nox): no plots" >&2
fi

cat "$section"
echo
echo "bench: wrote $OUT_MD and the plots ($OUT_PNG, $OUT_MEM_PNG, $OUT_SHIM_PNG, $OUT_OPS_PNG, $OUT_SERVERS_PNG) in $((T_END - T_START)) s"
