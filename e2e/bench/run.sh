#!/usr/bin/env bash
# `make bench`: container lifecycle latency, create+start+wait+delete of busybox `true`
# (`R --root DIR run --bundle B ID` does the four steps), for $DUNE, runc and crun,
# interleaved round-robin (the order rotates every round), after warm-up rounds.
# Writes a section of docs/benchmarks.md and docs/benchmarks-lifecycle.png.
#
#   DUNE=PATH         runtime under test (default build/bin/dune)
#   BENCH_ROUNDS=30   measured rounds      BENCH_WARMUP=3   warm-up rounds (not recorded)
#
# crun cannot run on this host's hybrid cgroup layout while /sys/fs/cgroup/unified is mounted,
# so every runtime runs inside one private mount namespace where it is unmounted.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
export DUNE=${DUNE:-$REPO/build/bin/dune}
[[ $DUNE == */* ]] || DUNE=$(command -v "$DUNE" || echo "$DUNE")
ROUNDS=${BENCH_ROUNDS:-30}
WARMUP=${BENCH_WARMUP:-3}
OUT_MD=${BENCH_MD:-$REPO/docs/benchmarks.md}
OUT_PNG=${BENCH_PNG:-$REPO/docs/benchmarks-lifecycle.png}
WORK=$REPO/build/bench

[[ $(id -u) == 0 ]] || { echo "bench: must run as root" >&2; exit 1; }

if [[ -z ${DUNE_BENCH_IN_NS:-} ]]; then
  export DUNE_BENCH_IN_NS=1
  exec unshare --mount --propagation private "$0" "$@"
fi
if mountpoint -q /sys/fs/cgroup/unified; then
  umount /sys/fs/cgroup/unified
fi

names=(dune runc crun)
bins=("$DUNE" "$(command -v runc || true)" "$(command -v crun || true)")
for i in "${!names[@]}"; do
  [[ -x ${bins[$i]} ]] || { echo "bench: ${names[$i]} binary '${bins[$i]}' missing" >&2; exit 1; }
done

export E2E_REPO=$REPO
source "$REPO/e2e/lib/bundle.sh"
rm -rf "$WORK"
mkdir -p "$WORK"
make_bundle "$WORK/bundle" true
# One bundle for all three runtimes: crun 1.8.1 rejects ociVersion 1.1+ ("unknown version
# specified"), so pin the version they all accept.
bundle_jq "$WORK/bundle" '.ociVersion = "1.0.2-dev"'
for n in "${names[@]}"; do mkdir -p "$WORK/root-$n"; : >"$WORK/$n.us"; done

# one NAME-INDEX ROUND: one lifecycle, prints the wall time in microseconds.
one() {
  local i=$1 id="bench-${names[$1]}-$2" t0 t1
  t0=${EPOCHREALTIME/./}
  if ! "${bins[$i]}" --root "$WORK/root-${names[$i]}" run --bundle "$WORK/bundle" "$id" </dev/null >"$WORK/last.out" 2>&1; then
    echo "bench: ${names[$i]} run failed:" >&2
    cat "$WORK/last.out" >&2
    exit 1
  fi
  t1=${EPOCHREALTIME/./}
  echo $((t1 - t0))
}

echo "bench: $WARMUP warm-up + $ROUNDS measured rounds of: ${names[*]}"
for ((r = 0; r < WARMUP + ROUNDS; r++)); do
  for ((k = 0; k < ${#names[@]}; k++)); do
    i=$(((r + k) % ${#names[@]}))
    us=$(one "$i" "$r")
    ((r < WARMUP)) || echo "$us" >>"$WORK/${names[$i]}.us"
  done
  printf '.'
done
echo

# stats FILE: median p90 mean min max (milliseconds, 2 decimals)
stats() {
  sort -n "$1" | awk '{v[NR] = $1; s += $1}
    END {
      n = NR; med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
      p = int(0.9 * n + 0.999999); if (p < 1) p = 1
      printf "%.2f %.2f %.2f %.2f %.2f\n", med / 1000, v[p] / 1000, s / n / 1000, v[1] / 1000, v[n] / 1000
    }'
}

declare -A med p90 mean min max
for n in "${names[@]}"; do
  read -r med[$n] p90[$n] mean[$n] min[$n] max[$n] < <(stats "$WORK/$n.us")
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
if [[ -c /dev/kvm ]]; then
  kvm="/dev/kvm"
  for m in kvm_intel kvm_amd; do [[ -d /sys/module/$m ]] && kvm="/dev/kvm ($m)"; done
  if grep -qw hypervisor /proc/cpuinfo; then kvm="$kvm, nested: this host is itself a VM"; fi
else
  kvm="none"
fi
dune_version=$("$DUNE" --version 2>/dev/null | head -n1)

section=$WORK/section.md
{
  echo "## Container lifecycle: create + start + wait + delete of \`true\`"
  echo
  echo "\`R --root DIR run --bundle B ID\` on a busybox bundle (process \`true\`), measured from"
  echo "bash around each command, $ROUNDS rounds after $WARMUP warm-up rounds, runtimes interleaved"
  echo "round-robin, all in one private mount namespace with /sys/fs/cgroup/unified unmounted (crun"
  echo "needs that on this hybrid cgroup host). Command: \`make bench\` (e2e/bench/run.sh)."
  echo
  echo "Host: kernel $(uname -r), $cpu, $(nproc) CPUs, KVM: $kvm; $(date -u '+%Y-%m-%d %H:%M UTC')."
  echo "dune: \`$DUNE\` ($dune_version); runc $(runc --version | awk 'NR == 1 {print $3}'); crun $(crun --version | awk 'NR == 1 {print $3}')."
  echo
  echo "| runtime | median ms | p90 ms | mean ms | min ms | max ms | median vs runc |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  for n in "${names[@]}"; do
    echo "| $n | ${med[$n]} | ${p90[$n]} | ${mean[$n]} | ${min[$n]} | ${max[$n]} | $(ratio "${med[$n]}" "${med[runc]}")x |"
  done
  echo
  echo "![lifecycle latency](benchmarks-lifecycle.png)"
} >"$section"

# libdune's micro-benchmarks, when libdune exists.
if [[ -f $REPO/libdune/Makefile ]]; then
  echo "bench: make -C libdune bench"
  if make -C "$REPO/libdune" bench BENCH_OUT="$WORK/libdune.md"; then
    { echo; cat "$WORK/libdune.md"; } >>"$section"
  else
    echo "bench: WARNING: make -C libdune bench failed; its numbers are not in the report" >&2
    { echo; echo "_libdune micro-benchmarks: \`make -C libdune bench\` failed in this run._"; } >>"$section"
  fi
fi

# Replace our section of docs/benchmarks.md (between the markers), keep the rest.
begin='<!-- bench:lifecycle:begin (generated by e2e/bench/run.sh) -->'
end='<!-- bench:lifecycle:end -->'
mkdir -p "$(dirname "$OUT_MD")"
[[ -f $OUT_MD ]] || printf '# Benchmarks\n\n' >"$OUT_MD"
if grep -qF "$begin" "$OUT_MD"; then
  awk -v b="$begin" -v e="$end" -v f="$section" '
    $0 == b {print; while ((getline l < f) > 0) print l; skip = 1; next}
    $0 == e {skip = 0}
    !skip {print}' "$OUT_MD" >"$OUT_MD.new"
else
  { cat "$OUT_MD"; echo "$begin"; cat "$section"; echo "$end"; } >"$OUT_MD.new"
fi
mv "$OUT_MD.new" "$OUT_MD"

# Plot: every sample per runtime (jittered points), median as a bar.
if command -v gnuplot >/dev/null; then
  for i in "${!names[@]}"; do
    awk -v x="$i" '{printf "%d %.3f\n", x, $1 / 1000}' "$WORK/${names[$i]}.us"
  done >"$WORK/samples.dat"
  for i in "${!names[@]}"; do
    echo "$i ${names[$i]} ${med[${names[$i]}]} ${p90[${names[$i]}]}"
  done >"$WORK/medians.dat"
  gnuplot <<GP
set terminal pngcairo size 800,500 noenhanced
set output "$OUT_PNG"
set title "create+start+wait+delete of true ($ROUNDS rounds, interleaved)"
set ylabel "ms"
set yrange [0:*]
set xrange [-0.6:${#names[@]}-0.4]
set boxwidth 0.5
set style fill solid 0.3
set grid ytics
set key outside right top
plot "$WORK/medians.dat" using 1:3:xtic(2) with boxes title "median", \
     "$WORK/medians.dat" using 1:4 with points pt 6 ps 2 title "p90", \
     "$WORK/samples.dat" using (\$1 + (rand(0) - 0.5) * 0.3):2 with points pt 7 ps 0.5 title "samples"
GP
else
  echo "bench: WARNING: gnuplot missing (apt-get install gnuplot-nox): no plot" >&2
fi

cat "$section"
echo
echo "bench: wrote $OUT_MD and $OUT_PNG"
