#!/usr/bin/env bash
# Runs inside the VM (e2e/bench/vm.sh boots it through e2e/vm/kmod.sh): make bench's VM part
# for one boot. Loads the boot's hypervisor (kmod: dune.ko; kvm: kvm_amd), then runs opsbench
# (-r BATCHES OP:N...) natively and under each dune-run configuration of this boot (CONFIGS, the
# vm-configs format), one warm-up round and ROUNDS measured rounds, the order of the
# configurations rotating every round. Prints "kbench raw NAME ROUND OP NS" per measured result
# (NS: opsbench's median over its batches), "kbench info KEY VALUE" facts about the guest,
# "kbench timeout NAME ROUND" for a run killed after TIMEOUT seconds (its round is lost, the
# configuration stays in), "kbench failed NAME WHY" for one that failed otherwise (it leaves the
# rest of the run), and a last line "N passed, N failed" (a configuration passes when every
# round of it ran).
#   vm-guest.sh BOOT CONFIGS ROUNDS BATCHES TIMEOUT OPSBENCH OP:N...
set -uo pipefail
(($# >= 7)) || { echo "usage: vm-guest.sh BOOT CONFIGS ROUNDS BATCHES TIMEOUT OPSBENCH OP:N..." >&2; exit 2; }
boot=$1 configs=$2 rounds=$3 batches=$4 run_timeout=$5 opsbench=$6
shift 6
ops=("$@")
dune_run=/opt/dune/build/bin/dune-run
work=/tmp/kbench
mkdir -p "$work"
# dune-run needs a policy (libdune/README.md, "Policy format"): allow-all, as libdune's bench.
echo '{"dunePolicy":1,"defaultAction":"SCMP_ACT_ALLOW","syscalls":[]}' >"$work/allow-all.json"

die() { echo "kbench: FATAL: $*"; echo "0 passed, 1 failed"; exit 1; }

case $boot in
  kmod) insmod /opt/dune/build/kmod/dune.ko || die "insmod dune.ko"
        [[ -c /dev/dune ]] || die "no /dev/dune after insmod"
        ! grep -q '^kvm_amd ' /proc/modules || die "kvm_amd is loaded in the module's boot" ;;
  kvm)  modprobe kvm_amd || die "modprobe kvm_amd"
        [[ -c /dev/kvm ]] || die "no /dev/kvm after modprobe kvm_amd"
        [[ $(cat /sys/module/kvm_amd/parameters/npt) == [1Y] ]] || die "kvm_amd without nested paging" ;;
  *) die "unknown boot '$boot' (kmod or kvm)" ;;
esac

names=() 
declare -A opts=()
while IFS='|' read -r b n _ o; do
  b=$(echo $b) n=$(echo $n) o=$(echo $o)
  [[ -z $b || $b == \#* || $b != "$boot" ]] && continue
  names+=("$n"); opts[$n]=$o
done <"$configs"
((${#names[@]})) || die "no configuration of boot $boot in $configs"

echo "kbench info kernel $(uname -r)"
echo "kbench info cpu $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(nproc) vCPUs"
echo "kbench info thp $(cat /sys/kernel/mm/transparent_hugepage/enabled)"
echo "kbench info modules $(cut -d' ' -f1 /proc/modules | grep -E '^(dune|kvm|kvm_amd)$' | sort | tr '\n' ' ')"

declare -A failed=() timeouts=()
for ((r = -1; r < rounds; r++)); do
  for ((k = 0; k < ${#names[@]}; k++)); do
    n=${names[$(((r + 1 + k) % ${#names[@]}))]}
    [[ -z ${failed[$n]:-} ]] || continue
    o=${opts[$n]} cmd=() want=""
    if [[ $o != - ]]; then
      # shellcheck disable=SC2206 # the options are words
      cmd=("$dune_run" --policy "$work/allow-all.json" --stats "$work/stats.json" $o)
      [[ $o =~ --backend\ ([a-z]+) ]] && want=${BASH_REMATCH[1]}
    fi
    rm -f "$work/stats.json"
    t0=$(date +%s.%N)
    rc=0
    timeout -k 5 "$run_timeout" "${cmd[@]}" "$opsbench" -r "$batches" "${ops[@]}" >"$work/out" 2>"$work/err" || rc=$?
    t=$(echo "$t0 $(date +%s.%N)" | awk '{printf "%.1f", $2 - $1}')
    if ((rc == 124 || rc == 137)); then
      echo "kbench timeout $n $r"
      timeouts[$n]=1
      continue
    elif ((rc != 0)) || [[ $(grep -c . "$work/out") != "${#ops[@]}" ]]; then
      failed[$n]="exit status $rc: $(cat "$work/err" "$work/out" | tail -n 3 | tr "\n" " " | cut -c1-200)"
    elif [[ -n $want ]] && ! grep -q "\"backend\":\"$want\"" "$work/stats.json"; then
      failed[$n]="dune-run's --stats does not name backend $want: $(head -c 200 "$work/stats.json")"
    fi
    if [[ -n ${failed[$n]:-} ]]; then
      echo "kbench failed $n ${failed[$n]}"
      continue
    fi
    echo "# round $r: $n in $t s"
    ((r < 0)) && continue
    while read -r op ns _; do echo "kbench raw $n $r $op $ns"; done <"$work/out"
  done
done
bad=0
for n in "${names[@]}"; do [[ -z ${failed[$n]:-}${timeouts[$n]:-} ]] || bad=$((bad + 1)); done
echo "$((${#names[@]} - bad)) passed, $bad failed"
((bad == 0))
