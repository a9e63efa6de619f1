#!/usr/bin/env bash
# Fast calls (src/fastcall.h) before/after: each row is run natively, under dune-run and
# under dune-run --no-fastcall in turn, ROUNDS times interleaved (the machine is shared:
# interleaving spreads other load over the three columns alike); the median of each column
# is reported. Usage: fastcall.sh OUT.md DUNE_RUN BENCH_BUILD_DIR [ROUNDS]. Needs /dev/kvm.
set -euo pipefail
out=$1
dune_run=$2
b=$3
rounds=${4:-9}
[ -w /dev/kvm ] || { echo "bench: /dev/kvm is not available" >&2; exit 1; }
allow_all=$(mktemp)
trap 'rm -f "$allow_all"' EXIT
echo '{"dunePolicy":1,"defaultAction":"SCMP_ACT_ALLOW","syscalls":[]}' > "$allow_all"

median() { sort -g | awk '{v[n++] = $1} END {print n ? (n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) : "n/a"}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
# row NAME MODE N_NATIVE N_DUNE: medians native, fast calls on, off
row() {
	local name=$1 mode=$2 nn=$3 nd=$4 nat="" on="" off=""
	echo "bench: $name" >&2
	for _ in $(seq "$rounds"); do
		nat+="$("$b/guest" "$mode" "$nn" | awk '{print $2}')"$'\n'
		on+="$("$dune_run" --policy "$allow_all" "$b/guest" "$mode" "$nd" | awk '{print $2}')"$'\n'
		off+="$("$dune_run" --policy "$allow_all" --no-fastcall "$b/guest" "$mode" "$nd" | awk '{print $2}')"$'\n'
	done
	nat=$(echo -n "$nat" | median); on=$(echo -n "$on" | median); off=$(echo -n "$off" | median)
	echo "| $name | $nat | $on | $off | $(ratio "$on" "$nat") | $(ratio "$off" "$nat") | $(ratio "$off" "$on") |"
}
{
	echo "## Fast calls: before (\`--no-fastcall\`) / after, interleaved"
	echo
	echo "$(uname -srm), $(nproc) vCPUs, $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "(shared machine); median of $rounds interleaved runs, ns per operation."
	echo
	echo "| operation | native | dune-run | dune-run --no-fastcall | dune-run / native | --no-fastcall / native | speed-up |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
	row "getpid() (glibc wrapper: rewritten site)" getpid-libc 1000000 200000
	row "syscall(SYS_getpid) (not a rewritable site)" getpid 1000000 5000
	row "fcntl(0, F_GETFD) (no fast path)" fcntl 1000000 5000
	row "read(0, buf, 0) (no fast path)" read0 1000000 5000
	row "open + close of /dev/null" openclose 200000 2000
	row "fork + exec + exit + wait (static program)" forkexec 200 50
} > "$out"
cat "$out"
