# Sourced by run.sh: the markdown table the single-operation and server parts both print.

# ratio_table FIRST_HEADER NAMES ROWS ROW_LABELS MEDIAN FORMAT MISSING: one column per runtime of
# the array NAMES (headers from $label), one row per key of the array ROWS (labels from the
# associative array ROW_LABELS). A cell is `MEDIAN RUNTIME KEY` printed by FORMAT with its ratio
# to runc's; `MISSING RUNTIME KEY` prints the cell of a run that gave nothing.
ratio_table() {
  local head=$1 median=$5 format=$6 missing=$7 key n v b row
  local -n _names=$2 _rows=$3 _row_labels=$4
  row="| $head |"
  for n in "${_names[@]}"; do row+=" ${label[$n]} |"; done
  echo "$row"
  row="| --- |"
  for n in "${_names[@]}"; do row+=" ---: |"; done
  echo "$row"
  for key in "${_rows[@]}"; do
    b=$("$median" runc "$key")
    row="| ${_row_labels[$key]} |"
    for n in "${_names[@]}"; do
      v=$("$median" "$n" "$key")
      if [[ -z $v ]]; then row+=" $("$missing" "$n" "$key") |"
      elif [[ -z $b || $n == runc ]]; then row+=" $("$format" "$v") |"
      else row+=" $("$format" "$v") ($(ratio "$v" "$b")x) |"; fi
    done
    echo "$row"
  done
}
