# Helpers for the Dune-mode suites (dune.bats, debian.bats). Load after lib/helpers.
#
#   require_kvm                 fails the test without /dev/kvm (DUNE_ALLOW_NO_KVM=1: a skip
#                               with the reason instead)
#   build_isolation_tools       compiles e2e/tools/isolation/*.c (static, no PIE) into
#                               $ISOLATION_BIN once
#   build_libdune_prog NAME     compiles libdune/tests/progs/NAME.c (static, -pthread) into
#                               $ISOLATION_BIN/NAME once: escape (the libdune escape probes),
#                               vfork (vfork and posix_spawn semantics)
#   install_tool NAME ROOTFS    copies one of them into ROOTFS/NAME
#   dune_counters ID            the "dune" object of `events --stats ID` (JSON)
#   process_exe PID             the host's /proc/PID/exe
#   is_dune_process PID         /proc/PID/exe is dune-run (the program runs under libdune) and
#                               the process holds a KVM VM
#   is_native_process PID [EXE] /proc/PID/exe is the program itself (EXE, a path or a path
#                               suffix, default */busybox), not dune-run, and the process holds
#                               no KVM descriptor (/dev/kvm, a VM or a vCPU)
#   runs_dune_run PID DUNE_RUN  /proc/PID/exe is that dune-run file or a sealed copy of it
#   bundle_runs_as MODE [EXE]   a container of $B as it is (its process args replaced by a shell
#                               loop) runs a Dune process (MODE dune) or a native one (native;
#                               EXE as for is_native_process): the mode check for tests whose
#                               own containers run to completion
#   set_seccomp DIR JSON        sets linux.seccomp of the bundle in DIR

ISOLATION_SRC=$E2E_REPO/e2e/tools/isolation
ISOLATION_BIN=${ISOLATION_BIN:-$E2E_REPO/build/e2e/isolation}

require_kvm() {
  [[ -c /dev/kvm ]] && return 0
  if [[ ${DUNE_ALLOW_NO_KVM:-} == 1 ]]; then
    skip "/dev/kvm is missing (DUNE_ALLOW_NO_KVM=1): Dune processes need KVM"
  fi
  echo "FATAL: /dev/kvm is missing: Dune processes need KVM (DUNE_ALLOW_NO_KVM=1 turns this into a skip)" >&2
  return 1
}

build_isolation_tools() {
  local src name
  mkdir -p "$ISOLATION_BIN"
  for src in "$ISOLATION_SRC"/*.c; do
    name=$(basename "$src" .c)
    if [[ ! -x $ISOLATION_BIN/$name || $src -nt $ISOLATION_BIN/$name ]]; then
      # Static and at a fixed address: the 32-bit entry probes need data below 4 GiB, and
      # the container's rootfs has no libc.
      gcc -static -no-pie -O1 -Wall -Wextra -Werror -o "$ISOLATION_BIN/$name.tmp.$$" "$src" ||
        { echo "cannot build $src (gcc and the static glibc, libc6-dev, are needed)" >&2; return 1; }
      mv "$ISOLATION_BIN/$name.tmp.$$" "$ISOLATION_BIN/$name"
    fi
  done
}

build_libdune_prog() {
  local src=$E2E_REPO/libdune/tests/progs/$1.c out=$ISOLATION_BIN/$1
  mkdir -p "$ISOLATION_BIN"
  if [[ ! -x $out || $src -nt $out ]]; then
    gcc -static -pthread -O2 -Wall -Wextra -Werror -o "$out.tmp.$$" "$src" ||
      { echo "cannot build $src (gcc and the static glibc, libc6-dev, are needed)" >&2; return 1; }
    mv "$out.tmp.$$" "$out"
  fi
}

install_tool() {
  cp "$ISOLATION_BIN/$1" "$2/$1"
}

dune_counters() {
  R events --stats "$1" | jq -c '.data.dune'
}

process_exe() {
  readlink "/proc/$1/exe"
}

# dune-run re-executes itself from a sealed memfd copy (libdune/src/self_image.h): the link
# names the memfd, whose bytes are the loaded part (a prefix) of the dune-run next to $DUNE.
runs_dune_run() {
  local exe size
  exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
  [[ $exe == "$2" ]] && return 0
  [[ $exe == "/memfd:dune-run (deleted)" ]] && size=$(stat -L -c %s "/proc/$1/exe" 2>/dev/null) &&
    [[ $size -gt 0 ]] && cmp -s -n "$size" "/proc/$1/exe" "$2"
}

# kvm_files PID: the KVM descriptors PID holds, one "FD TARGET" a line (/dev/kvm, anon_inode:kvm-vm,
# anon_inode:kvm-vcpu:N).
kvm_files() {
  local fd target
  for fd in /proc/"$1"/fd/*; do
    target=$(readlink "$fd" 2>/dev/null) || continue
    case $target in
      /dev/kvm | anon_inode:kvm-vm | anon_inode:kvm-vcpu*) echo "${fd##*/} $target" ;;
    esac
  done
}

is_dune_process() {
  local exe
  exe=$(process_exe "$1") || { echo "no process $1" >&2; return 1; }
  local run
  run=$(readlink -f "$(dirname "$DUNE")/dune-run")
  [[ $exe == "/memfd:dune-run (deleted)" ]] || { echo "process $1 runs $exe, not dune-run" >&2; return 1; }
  [[ ! -f $run ]] || runs_dune_run "$1" "$run" ||
    { echo "process $1 runs a memfd that is not a copy of $run" >&2; return 1; }
  # A process that has just exec'd runs a new dune-run that makes its VM a moment later.
  for _ in $(seq 40); do
    kvm_files "$1" | grep -q ' anon_inode:kvm-vm$' && return 0
    sleep 0.05
  done
  echo "process $1 runs dune-run but holds no KVM VM after 2 s: $(kvm_files "$1" | tr '\n' ' ')" >&2
  return 1
}

# The opposite, checked positively: a native process is the program, with no KVM at all (a
# failed is_dune_process alone would also pass for a process that is gone or half set up).
is_native_process() {
  local exe want=${2:-busybox} kvm
  exe=$(process_exe "$1") || { echo "no process $1" >&2; return 1; }
  [[ $exe != "/memfd:dune-run"* && ${exe##*/} != dune-run ]] ||
    { echo "process $1 runs $exe: a Dune process, not native" >&2; return 1; }
  [[ $exe == "$want" || $exe == */"${want#/}" ]] ||
    { echo "process $1 runs $exe, not $want" >&2; return 1; }
  kvm=$(kvm_files "$1")
  [[ -z $kvm ]] || { echo "process $1 ($exe) holds KVM descriptors: $kvm" >&2; return 1; }
}

bundle_runs_as() {
  local id=$ID-mode args pid rc=0
  args=$(jq -c '.process.args' "$B/config.json")
  bundle_set_args "$B" sh -c 'echo started; while :; do sleep 0.1; done'
  if create_ctr "$id" && R start "$id" && wait_file "$T/$id.out" && pid=$(pid_of "$id"); then
    case $1 in
      dune) is_dune_process "$pid" || rc=1 ;;
      native) is_native_process "$pid" ${2:+"$2"} || rc=1 ;;
      *) echo "bundle_runs_as: unknown mode $1" >&2; rc=1 ;;
    esac
  else
    echo "bundle_runs_as $1: the container did not start" >&2
    rc=1
  fi
  R delete --force "$id" || rc=1
  bundle_jq "$B" --argjson a "$args" '.process.args = $a'
  return "$rc"
}

set_seccomp() {
  bundle_jq "$1" '.linux.seccomp = $s' --argjson s "$2"
}

# A linux.seccomp that allows everything but mkdir and mkdirat, refused with EPERM (1).
DENY_MKDIR='{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],
  "syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}'
