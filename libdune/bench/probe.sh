#!/usr/bin/env bash
# Runs every pfprobe case (best of 3, ns per touched 4K page) : the
# measurements behind fault-around (docs/benchmarks.md, libdune). Needs /dev/kvm.
set -euo pipefail
b=$1
best() { for _ in 1 2 3; do "$@" | awk '{print $2}'; done | sort -g | head -n1; }
echo "| case | ns per touched page |"
echo "| --- | ---: |"
for c in native native-thp populate dune dune-prepop dune-zero dune-thp4k dune-thp2m dune-2m; do
	echo "| $c, every page of 64 MiB | $(best "$b/pfprobe" $c 64) |"
done
for s in 8 16; do
	echo "| dune-prepop, one page in $s | $(best "$b/pfprobe" dune-prepop 64 $s) |"
	echo "| dune, one page in $s | $(best "$b/pfprobe" dune 64 $s) |"
done
echo "| KVM_CAP_PRE_FAULT_MEMORY answer | $("$b/pfprobe" prefault-cap 0 | awk '{print $2}') |"
