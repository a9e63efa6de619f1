# Sourced by run.sh and vm.sh: the markdown table, the plot columns and settings the
# single-operation, server and VM parts all make, and the generated section of a markdown file.

# ratio A B: A / B with 2 decimals ("n/a" when B is 0 or empty)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b + 0 == 0) print "n/a"; else printf "%.2f", a / b}'; }

# ratio_table FIRST_HEADER NAMES ROWS ROW_LABELS MEDIAN FORMAT MISSING [BASELINE]: one column
# per runtime of the array NAMES (headers from $label), one row per key of the array ROWS (labels
# from the associative array ROW_LABELS). A cell is `MEDIAN RUNTIME KEY` printed by FORMAT with
# its ratio to the baseline's: runc's, or the runtime `BASELINE RUNTIME` prints; `MISSING
# RUNTIME KEY` prints the cell of a run that gave nothing.
ratio_table() {
  local head=$1 median=$5 format=$6 missing=$7 baseline=${8:-} key n v b base row
  local -n _names=$2 _rows=$3 _row_labels=$4
  row="| $head |"
  for n in "${_names[@]}"; do row+=" ${label[$n]} |"; done
  echo "$row"
  row="| --- |"
  for n in "${_names[@]}"; do row+=" ---: |"; done
  echo "$row"
  for key in "${_rows[@]}"; do
    row="| ${_row_labels[$key]} |"
    for n in "${_names[@]}"; do
      base=runc
      [[ -z $baseline ]] || base=$("$baseline" "$n")
      b=$("$median" "$base" "$key")
      v=$("$median" "$n" "$key")
      if [[ -z $v ]]; then row+=" $("$missing" "$n" "$key") |"
      elif [[ -z $b || $n == "$base" ]]; then row+=" $("$format" "$v") |"
      else row+=" $("$format" "$v") ($(ratio "$v" "$b")x) |"; fi
    done
    echo "$row"
  done
}

# ratio_plot_columns DAT FORMAT RUNTIME...: gnuplot's plot list for DAT (column 1 the x
# position, then one ratio column per RUNTIME): side-by-side boxes in the runtimes' colours,
# each with its value printed by FORMAT (e.g. %.1f) above it.
ratio_plot_columns() {
  local dat=$1 fmt=$2 j off plot=""; shift 2
  local -a colors=("#4477aa" "#228833" "#ccbb44" "#ee6677")
  for ((j = 0; j < $#; j++)); do
    local n=${*:j+1:1}
    off=$(awk -v j="$j" -v c="$#" 'BEGIN {printf "%.3f", (j - (c - 1) / 2) * 0.27}')
    plot+="${plot:+, }\"$dat\" using (\$1 + $off):$((j + 2)) with boxes lc rgb \"${colors[$j]}\" title \"${label[$n]}\""
    plot+=", \"$dat\" using (\$1 + $off):$((j + 2)):(sprintf(\"$fmt\", \$$((j + 2)))) with labels offset 0,0.6 font \",8\" notitle"
  done
  echo "$plot"
}

# ratio_bars_settings N XTICS XTICS_FONT: the gnuplot settings every ratio plot shares (N bar
# groups at x = 0..N-1 labelled by XTICS, a dashed line at ratio 1).
ratio_bars_settings() {
  local n=$1 xt=$2 font=$3
  cat <<GP
set xrange [-0.6:$n-0.4]
set xtics ($xt) font ",$font"
set boxwidth 0.25
set offsets 0, 0, graph 0.08, 0
set style fill solid 0.6
set grid ytics
set key outside top center horizontal
set arrow from -0.6,1 to $n-0.4,1 nohead lc rgb "black" dt 2
GP
}

# replace_section FILE BEGIN END SECTION [HEADING]: FILE's lines between the markers BEGIN and
# END become SECTION's; without the markers, they and SECTION are appended (after HEADING, a
# markdown heading, when given). FILE is made when missing.
replace_section() {
  local out=$1 begin=$2 end=$3 section=$4 heading=${5:-}
  mkdir -p "$(dirname "$out")"
  [[ -f $out ]] || printf '# Benchmarks\n\n' >"$out"
  if grep -qF "$begin" "$out"; then
    awk -v b="$begin" -v e="$end" -v f="$section" '
      $0 == b {print; while ((getline l < f) > 0) print l; skip = 1; next}
      $0 == e {skip = 0}
      !skip {print}' "$out" >"$out.new"
  else
    { cat "$out"
      [[ -z $heading ]] || { echo; echo "$heading"; echo; }
      echo "$begin"; cat "$section"; echo "$end"; } >"$out.new"
  fi
  mv "$out.new" "$out"
}
