# Sourced by e2e/bench/run.sh (needs its rt, stats helpers and $WORK, $DUNE, $REPO, label).
#
# ops_bench ROUNDS MS: the cost of single operations inside a container (e2e/bench/opsbench.c,
# built static here) for Dune mode, native mode, runc and runsc --platform=ptrace. One
# `R run` of the bench image per runtime per round runs every operation for about MS ms
# each; the order of the runtimes rotates every round; one warm-up round is not recorded.
# Writes $WORK/ops/NAME.OP ("round ns-per-op") and sets ops_ran (runtimes with data) and
# ops_failed[NAME] (why a runtime has none). A failed run leaves its runtime out of the rest
# with the reason (reported, not an error: this is a measurement).

ops_names=(dune dune-native runc runsc-ptrace)
ops_list=(getpid getpidlibc openclose forkexec pipe touch shell200 gcc)
declare -A ops_label=(
  [getpid]="getpid (raw syscall)" [getpidlibc]="getpid() (libc wrapper)" [openclose]="open + close" [forkexec]="fork + exec + wait"
  [pipe]="pipe round trip" [touch]="first touch of a page, random order"
  [shell200]="shell loop of 200 fork+exec" [gcc]="gcc -O0 hello world + run")
# two-line tick labels of the plot (gnuplot "\n")
declare -A ops_plot_label=(
  [getpid]="getpid\\n(raw syscall)" [getpidlibc]="getpid()\\n(libc)" [openclose]="open + close" [forkexec]="fork + exec\\n+ wait"
  [pipe]="pipe\\nround trip" [touch]="first touch,\\nrandom order" [shell200]="shell loop of\\n200 fork+exec"
  [gcc]="gcc hello\\nworld + run")
declare -A ops_failed=()
ops_ran=()

ops_bench() {
  local rounds=$1 ms=$2 r k n id rc op ns
  mkdir -p "$WORK/ops/bin"
  gcc -static -O2 -Wall -Wextra -Werror -o "$WORK/ops/bin/opsbench" "$REPO/e2e/bench/opsbench.c" || return 1
  bench_bundle "$WORK/ops/bundle" "$WORK/ops/bin" /opt/bench/opsbench -t "$ms" "${ops_list[@]}" || return 1
  for n in "${ops_names[@]}"; do for op in "${ops_list[@]}"; do : >"$WORK/ops/$n.$op"; done; done
  for ((r = -1; r < rounds; r++)); do
    for ((k = 0; k < ${#ops_names[@]}; k++)); do
      n=${ops_names[$(((r + 1 + k) % ${#ops_names[@]}))]}
      [[ -z ${ops_failed[$n]:-} ]] || continue
      rt "$n"
      id="bench-ops-$n-$r"
      rc=0
      timeout -k 5 300 "${RT[@]}" run --bundle "$WORK/ops/bundle" "$id" </dev/null >"$WORK/ops/last.out" 2>"$WORK/ops/last.err" || rc=$?
      if ((rc != 0)) || [[ $(grep -c . "$WORK/ops/last.out") != "${#ops_list[@]}" ]]; then
        cleanup "$n" "$id"
        ops_failed[$n]="exit status $rc: $(tail -n 3 "$WORK/ops/last.err" "$WORK/ops/last.out" | grep -v '^==>' | tr '\n' ' ' | cut -c1-200)"
        echo "bench: ops: ${label[$n]}: ${ops_failed[$n]} (left out of the rest of the run)" >&2
        continue
      fi
      ((r < 0)) && continue
      while read -r op ns _; do echo "$r $ns" >>"$WORK/ops/$n.$op"; done <"$WORK/ops/last.out"
    done
    printf '.'
  done
  echo
  for n in "${ops_names[@]}"; do
    [[ -z ${ops_failed[$n]:-} && -s $WORK/ops/$n.getpid ]] && ops_ran+=("$n")
  done
  return 0
}

# ops_median NAME OP: median ns per operation over the rounds (empty without data)
ops_median() {
  [[ -s $WORK/ops/$1.$2 ]] || return 0
  awk '{print $2}' "$WORK/ops/$1.$2" | sort -n | awk '{v[NR] = $1}
    END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

# ops_fmt NS: a duration with a unit that keeps 3 significant figures
ops_fmt() {
  awk -v n="$1" 'BEGIN {
    if (n >= 1e6) printf "%.1f ms", n / 1e6; else if (n >= 1e4) printf "%.0f µs", n / 1e3;
    else if (n >= 1e3) printf "%.2f µs", n / 1e3; else printf "%.0f ns", n }'
}

# ops_table: the markdown rows (a median and its ratio to runc per runtime and operation)
ops_missing() { echo "${ops_failed[$1]:+not run}"; }
ops_table() { ratio_table operation ops_names ops_list ops_label ops_median ops_fmt ops_missing; }

# ops_plot PNG ROUNDS: ratio to runc per operation (bars per runtime, log scale)
ops_plot() {
  local png=$1 rounds=$2 op n i=0 j m b line xt="" cols=() plot=""
  : >"$WORK/ops/ratios.dat"
  for op in "${ops_list[@]}"; do
    b=$(ops_median runc "$op")
    xt+="${xt:+, }\"${ops_plot_label[$op]}\" $i"
    line="$i"
    for n in "${ops_names[@]}"; do
      [[ $n == runc ]] && continue
      m=$(ops_median "$n" "$op")
      if [[ -n $m && -n $b ]]; then line+=" $(ratio "$m" "$b")"; else line+=" NaN"; fi
    done
    echo "$line" >>"$WORK/ops/ratios.dat"
    i=$((i + 1))
  done
  for n in "${ops_names[@]}"; do [[ $n == runc ]] || cols+=("$n"); done
  plot=$(ratio_plot_columns "$WORK/ops/ratios.dat" %.1f "${cols[@]}")
  gnuplot <<GP
set terminal pngcairo size 1100,600 noenhanced font ",11"
set bmargin 5
set output "$png"
set title "cost of one operation inside a container, median of $rounds interleaved rounds, relative to runc (= 1)"
set ylabel "time / runc's time (log scale)"
set logscale y
set yrange [0.3:*]
$(ratio_bars_settings "$i" "$xt" 9)
plot $plot
GP
}
