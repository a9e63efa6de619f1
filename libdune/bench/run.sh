#!/usr/bin/env bash
# Runs the libdune benchmarks and writes a markdown table to $1.
# Each number is the best of 3 runs (the machine is shared: the best run is
# the one least disturbed). Needs /dev/kvm.
set -euo pipefail
out=$1
dune_run=$2
b=$3
[ -w /dev/kvm ] || { echo "bench: /dev/kvm is not available" >&2; exit 1; }

# best of the numeric values; "n/a" when there is none
median() { awk '$1 ~ /^[0-9.]+$/ {if (!n++ || $1 < b) b = $1} END {print n ? b : "n/a"}'; }
# m CMD...: best second field of CMD's output over 3 runs
m() { for _ in 1 2 3; do "$@" | awk '{print $2}'; done | median; }
ghz=$(awk -F: '/cpu MHz/ {printf "%.3f", $2 / 1000; exit}' /proc/cpuinfo)
num() { [[ $1 =~ ^[0-9.]+$ ]]; }
cyc() { if num "$1"; then awk -v ns="$1" -v g="$ghz" 'BEGIN {printf "%.0f", ns * g}'; else echo "n/a"; fi; }
ratio() { if num "$1" && num "$2"; then awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; else echo "n/a"; fi; }

N=20000
allow_all=$(mktemp); docker_sized=$(mktemp)
trap 'rm -f "$allow_all" "$docker_sized"' EXIT
# Policies in the form the runtime writes (README.md, "Policy format"): allow-all, and one
# the size of Docker's default (EPERM default, about 350 numbers allowed, getpid among them).
echo '{"dunePolicy":1,"defaultAction":"SCMP_ACT_ALLOW","syscalls":[]}' > "$allow_all"
{
	printf '{"dunePolicy":1,"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"syscalls":['
	for nr in $(seq 0 349); do printf '%s{"nr":%d,"rules":[{"action":"SCMP_ACT_ALLOW"}]}' "$([ "$nr" = 0 ] || echo ,)" "$nr"; done
	printf ']}'
} > "$docker_sized"
echo "bench: exit paths" >&2
ep=$(for _ in 1 2 3; do "$b/exitpath" $N; done)
ep_med() { echo "$ep" | awk -v k="$1" '$1 == k {print $2}' | median; }
fetch=$(ep_med fetch-fault-syscall); out3=$(ep_med ring3-out); mmio=$(ep_med ring3-mmio-write)
stub=$(ep_med ring0-stub-out-iretq); vmlife=$(ep_med vm-create-run-destroy)
ring=$(ep_med switchless-ring-getpid)

echo "bench: exit floor vs sandboxed getpid, interleaved" >&2
floor_runs=""; sbi_runs=""
for _ in 1 2 3 4 5; do
	floor_runs+="$("$b/exitpath" $N fetch | awk '{print $2}')"$'\n'
	sbi_runs+="$("$dune_run" --policy "$allow_all" "$b/guest" getpid $N | awk '{print $2}')"$'\n'
done
floor=$(echo "$floor_runs" | median); sb_inter=$(echo "$sbi_runs" | median)

echo "bench: getpid" >&2
lin_getpid=$(m "$b/guest" getpid 1000000)
sb_getpid=$(m "$dune_run" --policy "$allow_all" "$b/guest" getpid $N)
sbdef_getpid=$(m "$dune_run" --policy "$docker_sized" "$b/guest" getpid $N)
dm_getpid=$(m "$b/dune_mode" getpid $N "$ghz")
pt_pinned=$(m "$b/ptrace_getpid" 5000 pinned)
pt_unpinned=$(m "$b/ptrace_getpid" 2000 unpinned)

echo "bench: faults and traps" >&2
lin_fault=$(m "$b/guest" fault 20000)
sb_fault=$(m "$dune_run" "$b/guest" fault 20000)
sb_fault_off=$(m "$dune_run" --no-fault-around "$b/guest" fault 20000)
lin_frand=$(m "$b/guest" fault-random 20000)
sb_frand=$(m "$dune_run" "$b/guest" fault-random 20000)
sb_frand_off=$(m "$dune_run" --no-fault-around "$b/guest" fault-random 20000)
lin_fsparse=$(m "$b/guest" fault-sparse 5000)
sb_fsparse=$(m "$dune_run" "$b/guest" fault-sparse 5000)
sb_fsparse_off=$(m "$dune_run" --no-fault-around "$b/guest" fault-sparse 5000)
dm_fault=$(m "$b/dune_mode" fault 5000 "$ghz")
lin_walk=$(m "$b/linux_walk" 200000)
dm_walk=$(m "$b/dune_mode" walk 1000000 "$ghz")
lin_trap=$(m "$b/guest" trap 100000)
sb_trap=$(m "$dune_run" "$b/guest" trap 5000)
dm_trap=$(m "$b/dune_mode" trap 5000 "$ghz")
lin_a1=$(m "$b/guest" appel1 100000)
sb_a1=$(m "$dune_run" "$b/guest" appel1 2000)
dm_a1=$(m "$b/dune_mode" appel1 2000 "$ghz")
lin_a2=$(m "$b/guest" appel2 100000)
sb_a2=$(m "$dune_run" "$b/guest" appel2 2000)
dm_a2=$(m "$b/dune_mode" appel2 2000 "$ghz")

echo "bench: whole programs" >&2
lin_cpu=$(m "$b/guest" cpu 1000000000)
sb_cpu=$(m "$dune_run" "$b/guest" cpu 1000000000)
lin_mem=$(m "$b/guest" mem 256)
sb_mem=$(m "$dune_run" "$b/guest" mem 256)
sb_mem_off=$(m "$dune_run" --no-fault-around "$b/guest" mem 256)

echo "bench: process creation" >&2
lin_fx=$(m "$b/guest" forkexec 200)
sb_fx=$(m "$dune_run" --policy "$allow_all" "$b/guest" forkexec 100)
lin_sx=$(m "$b/guest" spawnexec 200)
sb_sx=$(m "$dune_run" --policy "$allow_all" "$b/guest" spawnexec 100)

{
echo "# libdune benchmarks"
echo
echo "Host: $(uname -srm); CPU: $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ //'), $(nproc) vCPUs, TSC ${ghz} GHz;"
echo "/dev/kvm modules: $(ls /sys/module | grep -E '^kvm' | tr '\n' ' ')(on kvm_pvm, guest ring 0 is emulated and an exit costs tens of µs; bare-metal VT-x/AMD-V is ~1 µs)."
echo "Date: $(date -u +%Y-%m-%dT%H:%MZ). Best of 3 runs (shared machine). Cycles = ns x TSC GHz."
echo
echo "## The paper's rows"
echo
echo "| benchmark | Linux ns | Linux cycles | Dune ns | Dune cycles | Dune / Linux | what runs |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | --- |"
echo "| getpid (sandboxed, allow-all policy) | $lin_getpid | $(cyc $lin_getpid) | $sb_getpid | $(cyc $sb_getpid) | $(ratio $sb_getpid $lin_getpid) | \`dune-run guest getpid\`: exit, policy, checks, host getpid, resume |"
echo "| getpid (sandboxed, Docker-sized policy) | $lin_getpid | $(cyc $lin_getpid) | $sbdef_getpid | $(cyc $sbdef_getpid) | $(ratio $sbdef_getpid $lin_getpid) | same, EPERM default and 350 numbers allowed |"
echo "| getpid (Dune mode, libdune API) | $lin_getpid | $(cyc $lin_getpid) | $dm_getpid | $(cyc $dm_getpid) | $(ratio $dm_getpid $lin_getpid) | \`dune_enter()\`, syscall forwarded by the monitor |"
echo "| ptrace getpid (tracer pinned to the tracee's CPU) | $pt_pinned | $(cyc $pt_pinned) | $sb_getpid | $(cyc $sb_getpid) | $(ratio $sb_getpid $pt_pinned) | Linux column: PTRACE_SYSCALL interposer; Dune column: sandboxed getpid |"
echo "| ptrace getpid (unpinned) | $pt_unpinned | $(cyc $pt_unpinned) | $sb_getpid | $(cyc $sb_getpid) | $(ratio $sb_getpid $pt_unpinned) | as above, scheduler's choice of CPUs |"
echo "| page fault (first touch, sandbox) | $lin_fault | $(cyc $lin_fault) | $sb_fault | $(cyc $sb_fault) | $(ratio $sb_fault $lin_fault) | anonymous page, first write, in address order, under dune-run (fault-around on, the default) |"
echo "| page fault (first touch, sandbox, \`--no-fault-around\`) | $lin_fault | $(cyc $lin_fault) | $sb_fault_off | $(cyc $sb_fault_off) | $(ratio $sb_fault_off $lin_fault) | same, every page present up front: each first write is a hypervisor shadow-page fault |"
echo "| page fault, random order (sandbox) | $lin_frand | $(cyc $lin_frand) | $sb_frand | $(cyc $sb_frand) | $(ratio $sb_frand $lin_frand) | 20000 pages each written once in a random order: no run to populate ahead of |"
echo "| page fault, random order (sandbox, \`--no-fault-around\`) | $lin_frand | $(cyc $lin_frand) | $sb_frand_off | $(cyc $sb_frand_off) | $(ratio $sb_frand_off $lin_frand) | same |"
echo "| page fault, one page per 64 KiB (sandbox) | $lin_fsparse | $(cyc $lin_fsparse) | $sb_fsparse | $(cyc $sb_fsparse) | $(ratio $sb_fsparse $lin_fsparse) | 5000 pages, in order, 15 of every 16 skipped |"
echo "| page fault, one page per 64 KiB (sandbox, \`--no-fault-around\`) | $lin_fsparse | $(cyc $lin_fsparse) | $sb_fsparse_off | $(cyc $sb_fsparse_off) | $(ratio $sb_fsparse_off $lin_fsparse) | same |"
echo "| page fault (Dune mode, handler maps the page) | $lin_fault | $(cyc $lin_fault) | $dm_fault | $(cyc $dm_fault) | $(ratio $dm_fault $lin_fault) | #PF to the monitor, \`dune_vm_map\`, resume |"
echo "| page walk | $lin_walk | $(cyc $lin_walk) | $dm_walk | $(cyc $dm_walk) | $(ratio $dm_walk $lin_walk) | Linux: one /proc/self/pagemap entry; Dune: \`dune_vm_lookup\` in guest mode |"
echo "| trap (sandbox: SIGSEGV to the program's handler) | $lin_trap | $(cyc $lin_trap) | $sb_trap | $(cyc $sb_trap) | $(ratio $sb_trap $lin_trap) | signal frame built by the monitor, rt_sigreturn |"
echo "| trap (Dune mode: fault handler) | $lin_trap | $(cyc $lin_trap) | $dm_trap | $(cyc $dm_trap) | $(ratio $dm_trap $lin_trap) | #PF to a registered handler, resume |"
echo "| appel1 (TRAP, PROT1, UNPROT), sandbox | $lin_a1 | $(cyc $lin_a1) | $sb_a1 | $(cyc $sb_a1) | $(ratio $sb_a1 $lin_a1) | signals + mprotect under dune-run |"
echo "| appel1, Dune mode | $lin_a1 | $(cyc $lin_a1) | $dm_a1 | $(cyc $dm_a1) | $(ratio $dm_a1 $lin_a1) | handler + \`dune_vm_protect\` (a narrowing protect flushes shadow pages) |"
echo "| appel2 (PROTN, TRAP, UNPROT) per page, sandbox | $lin_a2 | $(cyc $lin_a2) | $sb_a2 | $(cyc $sb_a2) | $(ratio $sb_a2 $lin_a2) | 100 pages |"
echo "| appel2 per page, Dune mode | $lin_a2 | $(cyc $lin_a2) | $dm_a2 | $(cyc $dm_a2) | $(ratio $dm_a2 $lin_a2) | 100 pages |"
echo
echo "## Exit paths (guest ring 3 -> host monitor -> guest), no monitor work"
echo
echo "| path | ns per round trip | cycles |"
echo "| --- | ---: | ---: |"
echo "| \`syscall\` with LSTAR on a page backed by no memslot (fetch exits; sysret emulated by the host through KVM_CAP_SYNC_REGS) **(used)** | $fetch | $(cyc $fetch) |"
echo "| ring-3 \`out\` with IOPL 3 (not usable for unmodified programs; n/a = the hypervisor keeps IOPL 0, #GP) | $out3 | $(cyc $out3) |"
echo "| ring-3 store to a page with no memslot (MMIO exit) | $mmio | $(cyc $mmio) |"
echo "| \`syscall\` -> ring-0 stub: \`out\`, build frame, \`iretq\` (n/a = the stub's \`out\` raised #GP: this hypervisor reports CPL 3 after \`syscall\` in this layout; the shared probe measured ~36 µs) | $stub | $(cyc $stub) |"
echo "| switchless: ring-3 store to a page shared with a spinning host thread, which makes a getpid and answers (no exit; needs a free CPU for the host thread) | $ring | $(cyc $ring) |"
echo "| VM create + vCPU + first run + destroy | $vmlife | $(cyc $vmlife) |"
echo
echo "Sandboxed getpid / bare exit floor, measured interleaved (best of 5 each: $sb_inter ns / $floor ns): $(ratio $sb_inter $floor)x (target <= 1.5x). Sandboxed getpid / pinned ptrace getpid: $(ratio $sb_getpid $pt_pinned)x; / unpinned ptrace: $(ratio $sb_getpid $pt_unpinned)x."
echo
echo "## Whole programs under dune-run"
echo
echo "| workload | native | dune-run | native / dune-run |"
echo "| --- | ---: | ---: | ---: |"
echo "| CPU-bound loop (ns per iteration, 1e9 iterations) | $lin_cpu | $sb_cpu | $(ratio $lin_cpu $sb_cpu) (target >= 0.95) |"
echo "| memory touch: 256 MiB first touch + read pass (ns total) | $lin_mem | $sb_mem | $(ratio $lin_mem $sb_mem) |"
echo "| same, \`--no-fault-around\` | $lin_mem | $sb_mem_off | $(ratio $lin_mem $sb_mem_off) |"
echo "| fork + exec + exit + wait of a static program (ns per process; \`guest forkexec\`) | $lin_fx | $sb_fx | $(ratio $lin_fx $sb_fx) |"
echo "| posix_spawn (vfork) + exec + exit + wait of a static program (ns per process; \`guest spawnexec\`) | $lin_sx | $sb_sx | $(ratio $lin_sx $sb_sx) |"
echo
echo "Page fault under dune-run / native: $(ratio $sb_fault $lin_fault)x (target <= 3x; fault-around on, the default). With \`--no-fault-around\`: $(ratio $sb_fault_off $lin_fault)x."
} > "$out"
# Fast calls on and off, interleaved with native (medians): its own section.
fc=$(mktemp)
"$(dirname "$0")/fastcall.sh" "$fc" "$dune_run" "$b" >/dev/null
{ echo; cat "$fc"; } >> "$out"
rm -f "$fc"
cat "$out"
