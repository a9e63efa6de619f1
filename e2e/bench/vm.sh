#!/usr/bin/env bash
# make bench's VM part (`make bench` runs it after run.sh; `make bench-vm` runs only it): the
# Dune kernel module against the KVM backend against native, inside QEMU's software emulation
# of AMD SVM (e2e/vm/, TCG). One boot per BOOT of the configuration list (vm-configs: the
# module's boot and a kvm_amd boot, each booted by e2e/vm/kmod.sh, one after the other): in it
# e2e/bench/vm-guest.sh runs opsbench (opsbench.c, static, fixed counts) natively and under
# each dune-run configuration of that boot, interleaved rounds. Then docs/benchmarks.md's
# section "The Dune module (VM, software-emulated SVM)" (between its own markers) is rewritten
# with the host, the medians and their ratios to native of the same boot, and a plot.
# Emulated SVM: the absolute times say nothing about real hardware; only the ratios are read.
#
#   BENCH_VM_CONFIGS=e2e/bench/vm-configs  the configurations (format in that file)
#   BENCH_VM_ROUNDS=9        measured rounds (one warm-up round more) per boot
#   BENCH_VM_BATCHES=9       opsbench batches per operation and run (it prints their median)
#   BENCH_VM_OPS="getpid:1000 getpidlibc:10000 openclose:300 touch:256 forkexec:3"
#                            operations and their counts per batch (opsbench OP:N; touch: pages)
#   BENCH_VM_RUN_TIMEOUT=120 seconds one run of opsbench gets in the guest (then killed, reported)
#   BENCH_MD, BENCH_VM_PNG   outputs (docs/benchmarks.md, docs/benchmarks-vm.png)
#   VM_DIR, VM_CPU, ...      the test bed's settings (e2e/vm/boot.sh)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
CONFIGS=${BENCH_VM_CONFIGS:-$REPO/e2e/bench/vm-configs}
ROUNDS=${BENCH_VM_ROUNDS:-9}
BATCHES=${BENCH_VM_BATCHES:-9}
read -r -a OPS <<<"${BENCH_VM_OPS:-getpid:1000 getpidlibc:10000 openclose:300 touch:256 forkexec:3}"
OUT_MD=${BENCH_MD:-$REPO/docs/benchmarks.md}
OUT_PNG=${BENCH_VM_PNG:-$REPO/docs/benchmarks-vm.png}
WORK=$REPO/build/bench-vm
SHIP=build/bench-vm/ship   # on the run disk at /opt/dune/$SHIP (VM_EXTRA)

[[ $(id -u) == 0 ]] || { echo "bench-vm: must run as root (the VM test bed)" >&2; exit 1; }
[[ -f $CONFIGS ]] || { echo "bench-vm: no configuration list $CONFIGS" >&2; exit 1; }

source "$REPO/e2e/bench/table.sh"
source "$REPO/e2e/bench/ops.sh"   # ops_median, ops_fmt, ops_label, ops_plot_label ($WORK/ops/)

# The configurations: arrays in file order; label[NAME], boot_of[NAME], opts_of[NAME].
vm_names=() boots=()
declare -A label=() boot_of=() opts_of=() native_of=()
while IFS='|' read -r b n l o; do
  b=$(echo $b) n=$(echo $n) l=$(echo $l) o=$(echo $o)
  [[ -z $b || $b == \#* ]] && continue
  [[ -n $n && -n $l && -n $o ]] || { echo "bench-vm: $CONFIGS: incomplete line for '$n'" >&2; exit 1; }
  [[ -z ${label[$n]:-} ]] || { echo "bench-vm: $CONFIGS: $n twice" >&2; exit 1; }
  vm_names+=("$n"); label[$n]=$l boot_of[$n]=$b opts_of[$n]=$o
  [[ " ${boots[*]} " == *" $b "* ]] || boots+=("$b")
  if [[ $o == - ]]; then
    [[ -z ${native_of[$b]:-} ]] || { echo "bench-vm: $CONFIGS: boot $b has two native lines" >&2; exit 1; }
    native_of[$b]=$n
  fi
done <"$CONFIGS"
for b in "${boots[@]}"; do
  [[ -n ${native_of[$b]:-} ]] || { echo "bench-vm: $CONFIGS: boot $b has no native line (-)" >&2; exit 1; }
done
vm_ops=()
for o in "${OPS[@]}"; do vm_ops+=("${o%%:*}"); done

rm -rf "$WORK"
mkdir -p "$WORK/ops" "$REPO/$SHIP"
gcc -static -O2 -Wall -Wextra -Werror -o "$REPO/$SHIP/opsbench" "$REPO/e2e/bench/opsbench.c"
cp "$CONFIGS" "$REPO/$SHIP/vm-configs"

# last_boot B: the lines of boot B's log from its last boot (run.sh boots once more after a
# hang: the first boot's partial rounds are not mixed in)
last_boot() { tr -d '\r' <"$WORK/boot-$1.log" | tac | sed '/^=== dune-vm: begin ===$/q' | tac; }
# boot_count B: how many times boot B was booted (2 when the first hung)
boot_count() { tr -d '\r' <"$WORK/boot-$1.log" | grep -c '^=== dune-vm: begin ===$' || true; }

# The guest prints a line per run (a few seconds each): a silence of 5 minutes is a hang.
export VM_STALL=${VM_STALL:-300}
T_START=$(date +%s)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A boot_s=() boot_load=() boot_rc=()
for b in "${boots[@]}"; do
  echo "bench-vm: boot $b: $ROUNDS rounds of $(for n in "${vm_names[@]}"; do [[ ${boot_of[$n]} == "$b" ]] && printf '%s ' "$n"; done)"
  t0=$(date +%s)
  rc=0
  VM_EXTRA="$SHIP ${VM_EXTRA:-}" bash "$REPO/e2e/vm/kmod.sh" bash e2e/bench/vm-guest.sh "$b" \
    "/opt/dune/$SHIP/vm-configs" "$ROUNDS" "$BATCHES" "${BENCH_VM_RUN_TIMEOUT:-120}" "/opt/dune/$SHIP/opsbench" "${OPS[@]}" \
    >"$WORK/boot-$b.log" 2>&1 || rc=$?
  boot_s[$b]=$(($(date +%s) - t0)) boot_rc[$b]=$rc boot_load[$b]=$(cut -d' ' -f1-3 /proc/loadavg)
  tr -d '\r' <"$WORK/boot-$b.log" | grep -E '^(kbench|# round|vm:|[0-9]+ passed)' || true
  last_boot "$b" | awk -v d="$WORK/ops" '$1 == "kbench" && $2 == "raw" {print $4, $6 >> (d "/" $3 "." $5)}'
done
T_END=$(date +%s)

# why NAME: the cell of a configuration without data
declare -A why=()
for b in "${boots[@]}"; do
  while read -r _ _ n rest; do why[$n]=$rest; done < <(last_boot "$b" | grep '^kbench failed ' || true)
  while read -r _ _ n r; do why[$n]="${why[$n]:+${why[$n]}; }round $r did not finish within ${BENCH_VM_RUN_TIMEOUT:-120} s (killed, not counted)"
  done < <(last_boot "$b" | grep '^kbench timeout ' || true)
done
vm_missing() { echo "not run"; }
# vm_best NAME OP: the fastest round's ns per operation (empty without data)
vm_best() { [[ -s $WORK/ops/$1.$2 ]] || return 0; awk '{print $2}' "$WORK/ops/$1.$2" | sort -n | head -n1; }
vm_baseline() { echo "${native_of[${boot_of[$1]}]}"; }
info() { last_boot "$1" | awk -v k="$2" '$1 == "kbench" && $2 == "info" && $3 == k {sub(/^kbench info [^ ]+ /, ""); print; exit}'; }

section=$WORK/section.md
{
  first=${boots[0]}
  echo "_Generated by \`make bench-vm\` (e2e/bench/vm.sh; \`make bench\` runs it last) on $(date -u '+%Y-%m-%d %H:%M UTC'); $((T_END - T_START)) s for ${#boots[@]} boots._"
  echo
  echo "**Software-emulated SVM: read the ratios only.** Every instruction of the guest, and of"
  echo "the Dune process inside it, is emulated by QEMU's TCG; exits, page walks and system calls"
  echo "cost what the emulator makes them cost, so the absolute times say nothing about real"
  echo "hardware and the ratios only compare the paths on this emulated machine."
  echo
  echo "| | |"
  echo "| --- | --- |"
  echo "| emulator | $(qemu-system-x86_64 --version | head -n1), \`-accel tcg -cpu ${VM_CPU:-max,phys-bits=48} -smp ${VM_SMP:-2} -m ${VM_MEM:-2048}\` (e2e/vm/boot.sh) |"
  echo "| guest kernel | $(info "$first" kernel) (Debian), transparent huge pages $(info "$first" thp) |"
  echo "| guest CPU | $(info "$first" cpu) |"
  echo "| host | $(uname -r), $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(nproc) CPUs shared with other jobs |"
  for b in "${boots[@]}"; do
    nb=$(boot_count "$b")
    echo "| boot $b | modules $(info "$b" modules); ${boot_s[$b]} s (build, disk, boot, runs, power-off)$( ((nb <= 1)) || echo ", booted $nb times: the first boot hung (e2e/vm/run.sh boots once more), only the last boot's rounds count"); exit status ${boot_rc[$b]}; host load after it ${boot_load[$b]} |"
  done
  echo "| host load before (1, 5, 15 min) | $LOAD_BEFORE |"
  echo
  echo "\`e2e/bench/opsbench.c\` (static) runs \`-r $BATCHES ${OPS[*]}\`: per operation one warm-up batch"
  echo "and $BATCHES batches of N operations (touch: one fresh anonymous mapping of N pages, each"
  echo "page written once in a random order), and prints the median over the batches of the time"
  echo "per operation. In each boot it runs natively and under each dune-run configuration of that"
  echo "boot (\`dune-run --policy allow-all OPTIONS opsbench ...\`; dune-run's \`--stats\` must name"
  echo "the backend asked for), one warm-up round and $ROUNDS measured rounds, the order rotating every"
  echo "round. A cell is the median over the rounds and, in brackets, that median divided by native's"
  echo "of the same boot. getpid is \`syscall(SYS_getpid)\`, an exit on every call; libc's getpid()"
  echo "is a call site libdune rewrites to a guest stub (fast calls), answered without an exit."
  echo "fork + exec + wait runs opsbench itself (static) with \`nop\`, which exits at once."
  echo "The configurations are data: e2e/bench/vm-configs."
  echo
  ratio_table operation vm_names vm_ops ops_label ops_median ops_fmt vm_missing vm_baseline
  for n in "${vm_names[@]}"; do
    [[ -z ${why[$n]:-} ]] || printf '\n%s: %s\n' "${label[$n]}" "${why[$n]}"
  done
  for b in "${boots[@]}"; do
    ((boot_rc[$b] == 0)) || printf '\nBoot %s exited with status %s (log: build/bench-vm/boot-%s.log).\n' "$b" "${boot_rc[$b]}" "$b"
  done
  echo
  echo "The fastest round of each (other jobs on the shared host only ever add time; a minimum"
  echo "is also the most exposed to a lucky round), ratio to the fastest native round of the same boot:"
  echo
  ratio_table operation vm_names vm_ops ops_label vm_best ops_fmt vm_missing vm_baseline
  echo
  echo "![the module's VM benchmark: ratios to native](benchmarks-vm.png)"
  echo
  echo "Raw numbers: opsbench's median per round (ns per operation), rounds in order."
  echo
  echo "| operation | configuration | rounds |"
  echo "| --- | --- | --- |"
  for op in "${vm_ops[@]}"; do
    for n in "${vm_names[@]}"; do
      [[ -s $WORK/ops/$n.$op ]] || continue
      echo "| $op | ${label[$n]} | $(sort -n "$WORK/ops/$n.$op" | awk '{print $2}' | paste -sd ' ') |"
    done
  done
} >"$section"

# Replace our section of docs/benchmarks.md (between our markers; appended when missing).
begin='<!-- bench-vm:begin (generated by e2e/bench/vm.sh: edits inside are overwritten) -->'
end='<!-- bench-vm:end -->'
replace_section "$OUT_MD" "$begin" "$end" "$section" "## The Dune module (VM, software-emulated SVM)"

# The plot: per operation, each configuration's ratio to native of its boot (log scale).
if command -v gnuplot >/dev/null; then
  cols=() xt="" i=0
  for n in "${vm_names[@]}"; do [[ ${opts_of[$n]} == - ]] || cols+=("$n"); done
  : >"$WORK/ratios.dat"
  for op in "${vm_ops[@]}"; do
    line="$i"
    for n in "${cols[@]}"; do
      m=$(ops_median "$n" "$op") base=$(ops_median "$(vm_baseline "$n")" "$op")
      if [[ -n $m && -n $base ]]; then line+=" $(ratio "$m" "$base")"; else line+=" NaN"; fi
    done
    echo "$line" >>"$WORK/ratios.dat"
    xt+="${xt:+, }\"${ops_plot_label[$op]:-$op}\" $i"
    i=$((i + 1))
  done
  plot=$(ratio_plot_columns "$WORK/ratios.dat" %.1f "${cols[@]}")
  gnuplot <<GP
set terminal pngcairo size 1000,560 noenhanced font ",11"
set bmargin 5
set output "$OUT_PNG"
set title "Dune module vs KVM backend in QEMU (TCG, emulated SVM): median of $ROUNDS rounds / native of the same boot"
set ylabel "time / native time (log scale)"
set logscale y
set yrange [0.02:*]
$(ratio_bars_settings "$i" "$xt" 9)
plot $plot
GP
else
  echo "bench-vm: WARNING: gnuplot missing (apt-get install gnuplot-nox): no plot" >&2
fi

cat "$section"
echo
echo "bench-vm: wrote $OUT_MD and $OUT_PNG in $((T_END - T_START)) s"
fail=0
for b in "${boots[@]}"; do ((boot_rc[$b] == 0)) || fail=1; done
exit "$fail"
