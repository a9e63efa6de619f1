#!/usr/bin/env bats
# Tracers and debuggers inside a Dune container (docs/security.md, "ptrace"): strace -f and gdb
# trace the container's Dune processes through `dune run` (the shell traced is the host's dash,
# which execs ls; busybox's sh would run ls as an applet without exec). The container is a busybox bundle
# with the host's /usr bind-mounted read-only (strace, gdb, coreutils and their libraries come
# from the host's Debian packages; /lib and /lib64 are links into it, as on a merged-/usr
# Debian). Needs root, /dev/kvm, strace, gdb and gcc on the host.

load lib/helpers
load lib/dune

DEBUGGEE_SRC=$E2E_REPO/libdune/tests/progs/debuggee.c

setup_file() {
  e2e_require_env
  local tool
  for tool in /usr/bin/strace /usr/bin/gdb; do
    [[ -x $tool ]] || { echo "FATAL: $tool is missing (e2e/install-deps.sh)" >&2; return 1; }
  done
}

setup() {
  common_setup
  require_kvm
  make_bundle "$B" sh >/dev/null
  ln -s usr/lib "$B/rootfs/lib"
  ln -s usr/lib64 "$B/rootfs/lib64"
  bundle_jq "$B" '.mounts += [{"destination": "/usr", "type": "bind", "source": "/usr",
                               "options": ["rbind", "ro"]}]'
}

teardown() {
  common_teardown
}

@test "ptrace: strace -f sh -c 'echo hi; ls /' in a Dune container shows the guest's execve and write" {
  bundle_runs_as dune
  in_ctr strace -f /usr/bin/sh -c 'echo hi; ls /'
  [ "$status" -eq 0 ]
  # The program's output, then strace's: the shell's and its child's system calls.
  [ "${lines[0]}" = hi ]
  printf '%s\n' "${lines[@]}" | grep -qx usr
  grep -q '^execve("/usr/bin/sh", \["/usr/bin/sh", "-c", "echo hi; ls /"\]' <<<"$stderr"
  grep -q 'write(1, "hi\\n", 3) *= 3' <<<"$stderr"
  grep -q '^\[pid *[0-9]*\] execve("/usr/bin/ls", \["ls", "/"\]' <<<"$stderr"
  grep -q 'wait4(-1, ' <<<"$stderr"
  grep -q '^+++ exited with 0 +++$' <<<"$stderr"
  # The monitor's own calls (KVM ioctls, its stop signal) never show; strace never lost track.
  ! grep -q 'KVM_\|SIGURG\|Stray' <<<"$stderr" || false
}

@test "ptrace: the same strace run in native mode shows the same calls (the check is real)" {
  bundle_jq "$B" '.annotations = {"run.dune.mode": "native"}'
  # The mode check's shell is the host's dash here (/usr/bin comes first in PATH).
  bundle_runs_as native dash
  in_ctr strace -f /usr/bin/sh -c 'echo hi; ls /'
  [ "$status" -eq 0 ]
  grep -q '^execve("/usr/bin/sh", \["/usr/bin/sh", "-c", "echo hi; ls /"\]' <<<"$stderr"
  grep -q 'write(1, "hi\\n", 3) *= 3' <<<"$stderr"
  grep -q '^\[pid *[0-9]*\] execve("/usr/bin/ls", \["ls", "/"\]' <<<"$stderr"
}

@test "ptrace: gdb in a Dune container stops at a breakpoint in a PIE program, shows the backtrace and libraries, steps and continues" {
  # Compiled from a copy in the rootfs: gdb finds the source as /debuggee.c (its working
  # directory in the container is /).
  cp "$DEBUGGEE_SRC" "$B/rootfs/debuggee.c"
  (cd "$B/rootfs" && gcc -g -O0 -o debuggee debuggee.c) # PIE and dynamic, as gcc makes them
  bundle_runs_as dune
  in_ctr gdb -nx -batch -ex 'break main' -ex run -ex bt -ex next -ex stepi -ex 'info registers rip' \
    -ex 'info sharedlibrary' -ex continue /debuggee
  [ "$status" -eq 0 ]
  printf '%s\n' "${lines[@]}" | grep -q '^Breakpoint 1, main () at debuggee.c:[0-9]*$'
  printf '%s\n' "${lines[@]}" | grep -q '^#0  main () at debuggee.c:[0-9]*$'
  # `next` went from the breakpoint's line to the printf line.
  printf '%s\n' "${lines[@]}" | grep -q $'^[0-9]*\t\tprintf("square: %d\\\\n", v);$'
  printf '%s\n' "${lines[@]}" | grep -q '^rip  *0x[0-9a-f]*  *0x[0-9a-f]* <main+[0-9]*>$'
  # The program's libraries, placed with its auxiliary vector (not the monitor's).
  printf '%s\n' "${lines[@]}" | grep -q ' Yes .*/libc\.so\.6$'
  printf '%s\n' "${lines[@]}" | grep -qx 'square: 49'
  printf '%s\n' "${lines[@]}" | grep -q 'exited normally'
}

@test "ptrace: a container policy denying ptrace refuses it in Dune mode (strace cannot start)" {
  set_seccomp "$B" '{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],
    "syscalls":[{"names":["ptrace"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}'
  bundle_runs_as dune
  in_ctr strace -f true
  [ "$status" -ne 0 ]
  grep -q 'Operation not permitted' <<<"$stderr"
}
