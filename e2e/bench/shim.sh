# Sourced by e2e/bench/run.sh (needs its stats/wins helpers and $WORK, $DUNE, $REPO).
#
# shim_bench ROUNDS WARMUP: `ctr run --rm IMAGE ID true` through a private containerd
# (Debian's package, CRI plugin off) with three runtimes, interleaved, rotating order:
#   shim-dune       containerd-shim-dune-v2 (runtime io.containerd.dune.v2)
#   runc-shim-dune  containerd-shim-runc-v2 with --runc-binary dune
#   runc-shim-runc  containerd-shim-runc-v2 with runc
# Each timing is one whole `ctr run --rm`: shim start, create, start, wait, delete, shim exit
# and containerd's `shim delete`. Writes $WORK/NAME.us ("round microseconds") per runtime;
# a failed run ends the benchmark with its output (a measurement of a broken path is no
# measurement).

shim_names=(shim-dune runc-shim-dune runc-shim-runc)
declare -A shim_label=(
  [shim-dune]="containerd-shim-dune-v2 (native shim)"
  [runc-shim-dune]="containerd-shim-runc-v2 + dune"
  [runc-shim-runc]="containerd-shim-runc-v2 + runc")

shim_bench() {
  local rounds=$1 warmup=$2 r k n id t0 t1 args
  # shellcheck source=../lib/bundle.sh
  source "$REPO/e2e/lib/bundle.sh"
  source "$REPO/e2e/lib/image.sh"
  source "$REPO/e2e/lib/daemons.sh"
  CD_NS=dune-bench
  # containerd finds containerd-shim-dune-v2 beside dune (daemons.sh puts it on its PATH).
  start_containerd "$WORK/containerd" || return 1
  make_oci_image_tar "$WORK/containerd/busybox.tar" || return 1
  ctr_ images import --base-name localhost/dune-bench/busybox "$WORK/containerd/busybox.tar" >/dev/null || return 1
  local image=localhost/dune-bench/busybox:latest
  for n in "${shim_names[@]}"; do : >"$WORK/$n.us"; done
  for ((r = -warmup; r < rounds; r++)); do
    for ((k = 0; k < ${#shim_names[@]}; k++)); do
      n=${shim_names[$(((r + warmup + k) % ${#shim_names[@]}))]}
      case $n in
        shim-dune) args=(--runtime io.containerd.dune.v2) ;;
        runc-shim-dune) args=(--runtime io.containerd.runc.v2 --runc-binary "$DUNE") ;;
        runc-shim-runc) args=(--runtime io.containerd.runc.v2 --runc-binary "$(command -v runc)") ;;
      esac
      id=bench-shim-$n-$((r + warmup))
      t0=${EPOCHREALTIME/./}
      if ! ctr_ run --rm "${args[@]}" "$image" "$id" true </dev/null >"$WORK/shim-last.out" 2>&1; then
        echo "bench: ctr run --rm with $n failed:" >&2
        cat "$WORK/shim-last.out" >&2
        stop_containerd
        return 1
      fi
      t1=${EPOCHREALTIME/./}
      ((r >= 0)) && echo "$r $((t1 - t0))" >>"$WORK/$n.us"
    done
    printf '.'
  done
  echo
  stop_containerd
}
