#!/usr/bin/env bats
# Dune mode end to end through `dune run`/`create`/`exec` on busybox bundles: the container's
# processes are Dune processes (dune-run under KVM), the container's linux.seccomp is the
# monitor's policy, a program inside cannot reach the monitor or the host kernel around it,
# and many containers clean up after themselves. Needs root and /dev/kvm.

load lib/helpers
load lib/dune

setup_file() {
  e2e_require_env
  build_isolation_tools
  build_libdune_prog escape
  build_libdune_prog vfork
  build_libdune_prog fastcall
  build_recvtty
  build_seccomp_agent
}

setup() {
  common_setup
  require_kvm
  make_bundle "$B" sh -c 'echo ready > /tmp/ready; while :; do sleep 0.1; done' >/dev/null
}

teardown() {
  common_teardown
}

# start_ctr ARGS...: a detached container from $B running ARGS; stdout in $T/$ID.out.
start_ctr() {
  bundle_set_args "$B" "$@"
  create_ctr "$ID"
  R start "$ID"
}

# ---------------------------------------------------------------- busybox in Dune mode

@test "dune mode: sh -c pipelines with redirects, files, exit status" {
  in_ctr sh -c 'echo one two three | tr a-z A-Z > /tmp/o; cat < /tmp/o | wc -w >> /tmp/o;
                seq 1 100 | grep -c 5 2>/dev/null >> /tmp/o; cat /tmp/o; exit 42'
  [ "$status" -eq 42 ]
  [ "${lines[0]}" = "ONE TWO THREE" ]
  [ "$(echo "${lines[1]}" | tr -d ' ')" = 3 ]
  [ "${lines[2]}" = 19 ]
  # The file was written into the rootfs on disk.
  [ "$(head -n1 "$B/rootfs/tmp/o")" = "ONE TWO THREE" ]
}

@test "dune mode: ls /proc shows the container's pid namespace" {
  in_ctr sh -c 'ls /proc; echo self=$(readlink /proc/self)'
  [ "$status" -eq 0 ]
  printf '%s\n' "${lines[@]}" | grep -qx 1
  printf '%s\n' "${lines[@]}" | grep -qx self
  printf '%s\n' "${lines[@]}" | grep -qx cpuinfo
  # ls runs as a child of the init: a small pid of the container's own namespace.
  self=$(printf '%s\n' "${lines[@]}" | sed -n 's/^self=//p')
  [ "$self" -gt 1 ] && [ "$self" -lt 100 ]
}

@test "dune mode: ps shows the container's programs, not dune-run's options" {
  start_ctr sh -c 'sleep 1000 & echo started; wait'
  wait_file "$T/$ID.out"
  for _ in $(seq 50); do
    run R exec "$ID" ps -o pid,args
    [[ $output == *"sleep 1000"* ]] && break
    sleep 0.1
  done
  echo "$output"
  [ "$status" -eq 0 ]
  printf '%s\n' "${lines[@]}" | grep -Eq '^ *1 +sh -c sleep 1000 & echo started; wait$'
  printf '%s\n' "${lines[@]}" | grep -Eq '^ *[0-9]+ +sleep 1000$'
  printf '%s\n' "${lines[@]}" | grep -Eq '^ *[0-9]+ +ps -o pid,args$'
  [[ $output != *dune-run* && $output != *--kvm-fd* && $output != *--argv0* && $output != *--policy* ]]
  # The runtime's own ps (what docker top calls) too.
  run R ps "$ID"
  echo "$output"
  [[ $output == *"sleep 1000"* ]]
  [[ $output != *dune-run* && $output != *--argv0* ]]
}

@test "dune mode: a program keeps the name it was started as (comm: pidof, pgrep)" {
  start_ctr sh -c 'sleep 1000 & echo started; wait'
  wait_file "$T/$ID.out"
  for _ in $(seq 50); do
    run R exec "$ID" pidof sleep
    [[ -n $output ]] && break
    sleep 0.1
  done
  echo "pidof sleep: '$output'"
  [ "$status" -eq 0 ]
  [[ $output =~ ^[0-9]+$ ]]
  run R exec "$ID" cat "/proc/$output/comm"
  [ "$output" = sleep ]
}

@test "dune mode: exit codes, 128+signal for a killed init and a killed child" {
  in_ctr sh -c 'exit 3'
  [ "$status" -eq 3 ]
  in_ctr false
  [ "$status" -eq 1 ]
  in_ctr sh -c 'sleep 100 & kill -KILL $!; wait $!; echo child $?'
  [ "$status" -eq 0 ]
  [ "$output" = "child 137" ]
  in_ctr /bin/no-such-program
  [ "$status" -ne 0 ]
  # The init killed from outside: `run` reports 128+9.
  bundle_set_args "$B" sleep 1000
  R run --bundle "$B" "$ID" </dev/null >"$T/run.out" 2>&1 &
  runpid=$!
  BG_PIDS+=("$runpid")
  wait_status "$ID" running
  R kill "$ID" KILL
  rc=0
  wait "$runpid" || rc=$?
  cat "$T/run.out"
  [ "$rc" -eq 137 ]
}

@test "dune mode: init and exec'd processes are Dune processes with counters" {
  start_ctr sh -c 'echo started; while :; do sleep 0.1; done'
  wait_file "$T/$ID.out"
  pid=$(pid_of "$ID")
  is_dune_process "$pid"
  R exec -d --pid-file "$T/exec.pid" "$ID" sleep 1000
  wait_file "$T/exec.pid"
  is_dune_process "$(cat "$T/exec.pid")"
  # The program inside still sees its own name as /proc/self/exe.
  run R exec "$ID" readlink /proc/self/exe
  [ "$output" = /bin/busybox ]
  c=$(dune_counters "$ID")
  echo "counters: $c"
  echo "$c" | jq -e '.backend == "kvm" and .exits > 0 and .vcpus > 0 and .syscalls > 0
                     and .syscalls_forwarded > 0 and .processes >= 2'
  # The counters file in the state dir holds the same numbers (binary or text: it exists).
  [ -s "$ROOT/$ID/dune-stats" ]
  # Counters grow while the container runs.
  sleep 0.5
  c2=$(dune_counters "$ID")
  [ "$(echo "$c2" | jq .exits)" -gt "$(echo "$c" | jq .exits)" ]
}

@test "dune mode: getpid answered in the guest under the default policy, right in a forked child, counted apart" {
  install_tool fastcall "$B/rootfs"
  start_ctr sh -c '/fastcall fork 1000; while :; do sleep 0.1; done'
  wait_lines "$T/$ID.out" 1
  cat "$T/$ID.out" "$T/$ID.err"
  grep -qx 'fork ok' "$T/$ID.out"
  c=$(dune_counters "$ID")
  echo "counters: $c"
  # 3 x 1000 getpid() (parent, child, parent again): all but the first exit answered in the guest.
  echo "$c" | jq -e '.fastcalls >= 2999 and .fastcall_sites >= 1'
}

@test "dune mode: run.dune.fastcall=false: every getpid exits, in the container's process and in exec" {
  install_tool fastcall "$B/rootfs"
  bundle_jq "$B" '.annotations["run.dune.fastcall"] = "false"'
  start_ctr sh -c '/fastcall loop 1000; while :; do sleep 0.1; done'
  wait_lines "$T/$ID.out" 1
  cat "$T/$ID.out" "$T/$ID.err"
  grep -qx 'loop ok' "$T/$ID.out"
  run R exec "$ID" /fastcall loop 1000
  [ "$output" = "loop ok" ]
  c=$(dune_counters "$ID")
  echo "counters: $c"
  # 2 x 1000 getpid(), each an exit.
  echo "$c" | jq -e '.fastcalls == 0 and .fastcall_sites == 0 and .syscalls >= 2000'
}

@test "dune mode: the backend is the module's when /dev/dune exists, else KVM; run.dune.backend naming a missing device fails at create, leaving nothing" {
  # The same decision as dune-run's own default; the kmod VM suite tests the module side.
  if [[ -e /dev/dune ]]; then expected=dune missing=kvm dev=/dev/kvm; else expected=kvm missing=dune dev=/dev/dune; fi
  start_ctr sh -c 'echo started; while :; do sleep 0.1; done'
  wait_lines "$T/$ID.out" 1
  [ "$(cat "$ROOT/$ID/dune-backend")" = "$expected" ]
  run R exec "$ID" true
  [ "$status" -eq 0 ]
  c=$(dune_counters "$ID")
  echo "counters: $c"
  echo "$c" | jq -e --arg b "$expected" '.backend == $b'
  R delete --force "$ID"
  if [[ -e $dev ]]; then
    echo "# both /dev/kvm and /dev/dune exist: no missing device to request" >&3
    return 0
  fi
  bundle_jq "$B" '.annotations["run.dune.backend"] = $m' --arg m "$missing"
  run --separate-stderr R run --bundle "$B" "$ID" </dev/null
  echo "status $status, stderr: $stderr"
  [ "$status" -ne 0 ]
  [[ $stderr == *"run.dune.backend=$missing"* && $stderr == *"$dev"* ]]
  assert_nothing_left "$ID" "$B"
  bundle_jq "$B" '.annotations["run.dune.backend"] = "KVM"'
  run --separate-stderr R run --bundle "$B" "$ID" </dev/null
  [ "$status" -ne 0 ]
  [[ $stderr == *'unknown backend "KVM"'* ]]
  assert_nothing_left "$ID" "$B"
}

@test "dune mode: a getpid the container's seccomp refuses stays refused, nothing answered in the guest" {
  install_tool fastcall "$B/rootfs"
  set_seccomp "$B" '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getpid"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}'
  start_ctr sh -c '/fastcall denied 1000; while :; do sleep 0.1; done'
  wait_lines "$T/$ID.out" 1
  cat "$T/$ID.out" "$T/$ID.err"
  grep -qx 'denied ok' "$T/$ID.out"
  c=$(dune_counters "$ID")
  echo "counters: $c"
  echo "$c" | jq -e '.fastcalls == 0 and .fastcall_sites == 0 and .denied_by_name.getpid >= 1000'
}

@test "dune mode: posix_spawn (vfork) of a missing program returns ENOENT in the parent, as in native mode and with runc" {
  install_tool vfork "$B/rootfs"
  for mode in dune native; do
    bundle_jq "$B" --arg m "$mode" '.annotations = {"run.dune.mode": $m}'
    bundle_runs_as "$mode"
    in_ctr /vfork enoent
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "posix_spawn missing: No such file or directory" ]
    [ "${lines[1]}" = "posix_spawnp missing: No such file or directory" ]
    # An existing program: its status; the vfork child's stores are the parent's.
    in_ctr /vfork spawn
    [ "$status" -eq 0 ]
    [ "$output" = "posix_spawn: 0, status 7" ]
    in_ctr /vfork store
    [ "$status" -eq 0 ]
    [ "$output" = "vfork child stored 42, mapped v, _exit status 3" ]
  done
  # The same with runc, the reference.
  bundle_set_args "$B" /vfork enoent
  run --separate-stderr runc --root "$T/runc" run --bundle "$B" "$ID-runc" </dev/null
  echo "runc: status $status, stdout: $output, stderr: $stderr"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "posix_spawn missing: No such file or directory" ]
  [ "${lines[1]}" = "posix_spawnp missing: No such file or directory" ]
}

@test "native mode by annotation: plain processes, no Dune counters" {
  bundle_jq "$B" '.annotations = {"run.dune.mode": "native"}'
  start_ctr sh -c 'echo started; while :; do sleep 0.1; done'
  wait_file "$T/$ID.out"
  is_native_process "$(pid_of "$ID")"
  R exec -d --pid-file "$T/exec.pid" "$ID" sleep 1000
  wait_file "$T/exec.pid"
  is_native_process "$(cat "$T/exec.pid")"
  run R events --stats "$ID"
  echo "$output"
  [ "$status" -eq 0 ]
  echo "$output" | jq -e '.type == "stats" and (.data | has("dune") | not) and (.data.pids.current >= 1)'
  [ ! -e "$ROOT/$ID/dune-stats" ]
}

@test "native mode by the global --mode flag; the annotation wins over it" {
  bundle_set_args "$B" sh -c 'echo started; while :; do sleep 0.1; done'
  "$DUNE" --root "$ROOT" --mode native create --bundle "$B" "$ID" </dev/null >"$T/$ID.out" 2>&1 3>&-
  R start "$ID"
  wait_file "$T/$ID.out"
  is_native_process "$(pid_of "$ID")"
  bundle_jq "$B" '.annotations = {"run.dune.mode": "dune"}'
  "$DUNE" --root "$ROOT" --mode native create --bundle "$B" "$ID-b" </dev/null >"$T/b.out" 2>&1 3>&-
  R start "$ID-b"
  wait_file "$T/b.out"
  is_dune_process "$(pid_of "$ID-b")"
}

@test "a new network namespace has its loopback up, in both modes (as runc: servers on 127.0.0.1)" {
  # /sys/class/net/lo/flags: IFF_UP is bit 0 (0x9 up, 0x8 down); read without any ioctl.
  in_ctr cat /sys/class/net/lo/flags
  [ "$status" -eq 0 ]
  [ $((output & 1)) -eq 1 ]
  bundle_runs_as dune
  bundle_jq "$B" '.annotations = {"run.dune.mode": "native"}'
  in_ctr cat /sys/class/net/lo/flags
  [ $((output & 1)) -eq 1 ]
  bundle_runs_as native
}

@test "dune mode: network interface ioctls work as natively (ip link, ifconfig)" {
  bundle_jq "$B" '.annotations = {"run.dune.mode": "native"}'
  in_ctr sh -c 'ip link show lo && ifconfig -a'
  [ "$status" -eq 0 ]
  native=$output
  [[ $native == *"lo: <LOOPBACK"* ]]
  bundle_runs_as native
  bundle_jq "$B" '.annotations = {}'
  in_ctr sh -c 'ip link show lo && ifconfig -a'
  [ "$status" -eq 0 ]
  [ "$output" = "$native" ]
  bundle_runs_as dune
}

# exec_on_console ID OUT [JQ-FILTER]: execs the bundle's process (edited by JQ-FILTER) with a
# terminal in container ID; the pty master goes over a console socket to recvtty, which copies
# what the process writes into OUT (carriage returns removed) until the process exits.
exec_on_console() {
  local sock=$T/console.sock rpid
  rm -f "$sock"
  jq ".process | .terminal = true | ${3:-.}" "$B/config.json" >"$T/process.json"
  "$RECVTTY" "$sock" "$T/console.raw" 3>&- &
  rpid=$!
  BG_PIDS+=("$rpid")
  for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.02; done
  R exec --detach --console-socket "$sock" --process "$T/process.json" "$1" </dev/null
  wait "$rpid"
  tr -d '\r' <"$T/console.raw" >"$2"
}

@test "dune mode: stty on an exec'd terminal: consoleSize, the client's size, as in native mode" {
  start_ctr sh -c 'echo started; while :; do sleep 0.1; done'
  wait_file "$T/$ID.out"
  bundle_jq "$B" '.annotations = {"run.dune.mode": "native"}'
  bundle_set_args "$B" sh -c 'echo started; while :; do sleep 0.1; done'
  create_ctr "$ID-n"
  R start "$ID-n"
  wait_file "$T/$ID-n.out"
  is_dune_process "$(pid_of "$ID")"
  is_native_process "$(pid_of "$ID-n")"
  # The size a shim passes as process.consoleSize is the pty's before the program runs; the
  # shell reads it after a wait4 (tty) and in a forked child.
  sized='.consoleSize = {height: 41, width: 101} | .args = ["sh", "-c", "tty; stty size; (stty size)"]'
  exec_on_console "$ID" "$T/dune.out" "$sized"
  cat "$T/dune.out"
  grep -q '^/dev/pts/[0-9]' "$T/dune.out"
  [ "$(grep -c '^41 101$' "$T/dune.out")" -eq 2 ]
  # A pty nobody sized yet (ctr exec -t resizes only after the start): busybox stty then
  # prints a stale errno (ECHILD from the shell's wait4); the same words in both modes.
  unsized='.args = ["sh", "-c", "tty >/dev/null; stty size; echo status $?"]'
  exec_on_console "$ID" "$T/dune.out" "$unsized"
  exec_on_console "$ID-n" "$T/native.out" "$unsized"
  echo "dune: $(cat "$T/dune.out")"
  echo "native: $(cat "$T/native.out")"
  grep -q '^status 0$' "$T/native.out"
  [ "$(cat "$T/dune.out")" = "$(cat "$T/native.out")" ]
  # dune exec -t from a terminal: the process's pty takes the client's size.
  run script -qec "stty rows 41 cols 101; $DUNE --root $ROOT exec -t $ID sh -c 'tty; stty size; (stty size)'" /dev/null </dev/null 3>&-
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(tr -d '\r' <<<"$output" | grep -c '^41 101$')" -eq 2 ]
}

# ---------------------------------------------------------------- linux.seccomp as the monitor's policy

@test "seccomp denying mkdir: EPERM in the program, nothing on disk, denial counted" {
  set_seccomp "$B" "$DENY_MKDIR"
  start_ctr sh -c 'mkdir /denied-dir; echo "mkdir status $?"; mkdir -p /tmp/a/b; echo "mkdir -p status $?"; while :; do sleep 0.1; done'
  wait_lines "$T/$ID.out" 2
  cat "$T/$ID.out" "$T/$ID.err"
  grep -qx 'mkdir status 1' "$T/$ID.out"
  grep -qx 'mkdir -p status 1' "$T/$ID.out"
  grep -q "can't create directory '/denied-dir': Operation not permitted" "$T/$ID.err"
  [ ! -e "$B/rootfs/denied-dir" ]
  [ ! -e "$B/rootfs/tmp/a" ]
  is_dune_process "$(pid_of "$ID")"
  c=$(dune_counters "$ID")
  echo "counters: $c"
  echo "$c" | jq -e '.denied_by_name.mkdir >= 1 and .syscalls_denied >= 2'
  # Other calls still work: the policy denies only what it names.
  run R exec "$ID" sh -c 'echo x > /tmp/file && cat /tmp/file'
  [ "$output" = x ]
}

@test "seccomp denying mkdir with run.dune.trace=true: the trace log names mkdir" {
  set_seccomp "$B" "$DENY_MKDIR"
  bundle_jq "$B" '.annotations = {"run.dune.trace": "true"}'
  in_ctr sh -c 'mkdir /traced-dir; echo "mkdir status $?"'
  [ "$output" = "mkdir status 1" ]
  [ ! -e "$B/rootfs/traced-dir" ]
  # run deleted the container; trace it with create/start to read the log from the state dir.
  start_ctr sh -c 'mkdir /traced-dir; echo "mkdir status $?"; while :; do sleep 0.1; done'
  wait_file "$T/$ID.out"
  wait_file "$ROOT/$ID/dune-trace.log"
  cat "$ROOT/$ID/dune-trace.log" | tail -n 20
  grep -E 'mkdir\(.*denied' "$ROOT/$ID/dune-trace.log"
  [ ! -e "$B/rootfs/traced-dir" ]
}

@test "seccomp: without linux.seccomp the monitor enforces Docker's default profile, written by dune in the normalized form" {
  # dune writes the policy dune-run reads (dune-run has none of its own): the default
  # profile resolved by the same code as the kernel filter underneath.
  start_ctr sh -c 'echo ready; while :; do sleep 0.1; done'
  wait_file "$T/$ID.out"
  jq -e '.dunePolicy == 1 and .defaultAction == "SCMP_ACT_ERRNO" and .defaultErrnoRet == 1' "$ROOT/$ID/dune-policy.json"
  jq -e '[.syscalls[] | select(.name == "mount")] | length == 0' "$ROOT/$ID/dune-policy.json"
  jq -e '.syscalls[] | select(.name == "fchmodat2") | .rules[0].action == "SCMP_ACT_ALLOW"' "$ROOT/$ID/dune-policy.json"
  run --separate-stderr R exec "$ID" sh -c 'mount -t tmpfs none /mnt; echo "mount $?"'
  echo "$output $stderr"
  [ "$output" = "mount 1" ]
  dune_counters "$ID" | jq -e '.denied_by_name.mount >= 1'

  # chmod: the monitor makes fchmodat2 on the checked object, which the kernel filter
  # underneath must know (a syscall newer than the 6.1 headers) and allow.
  run --separate-stderr R exec "$ID" sh -c 'touch /tmp/m && chmod 640 /tmp/m && stat -c %a /tmp/m'
  echo "$output $stderr"
  [ "$status" -eq 0 ]
  [ "$output" = 640 ]
}

@test "seccomp: errno and kill actions of the container's policy apply in Dune mode" {
  set_seccomp "$B" '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
      {"names":["chdir"],"action":"SCMP_ACT_ERRNO","errnoRet":13},
      {"names":["sync"],"action":"SCMP_ACT_KILL_PROCESS"}]}'
  in_ctr sh -c 'cd /tmp; echo "cd $?"; pwd'
  [[ $output == *"cd 2"* ]]
  [[ ${lines[1]} == / ]]
  [[ $stderr == *"can't cd to /tmp: Permission denied"* ]]
  # The kill action ends the process with SIGSYS (128+31) and the shell sees it.
  in_ctr sh -c 'sync; echo "child $?"'
  [[ $output == *"child 159"* ]]
}

@test "seccomp: a minimal profile (what sh and sleep call natively, nothing else) runs in Dune mode as in native mode" {
  # The monitor's own host calls (execve's access check, threads, vfork's pipe...) are
  # added underneath by dune: they must not need the container's profile.
  local calls='"arch_prctl","brk","clock_nanosleep","clone","close","dup2","execve","exit","exit_group","fcntl",
    "fstat","getpid","getppid","getrandom","getuid","ioctl","mprotect","mmap","munmap","newfstatat","openat","prctl",
    "prlimit64","read","readlink","rseq","rt_sigaction","rt_sigprocmask","rt_sigreturn","set_robust_list",
    "set_tid_address","uname","wait4","write"'
  set_seccomp "$B" "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,\"syscalls\":[{\"names\":[$calls],\"action\":\"SCMP_ACT_ALLOW\"}]}"
  for mode in native dune; do
    bundle_jq "$B" --arg m "$mode" '.annotations = {"run.dune.mode": $m}'
    in_ctr sh -c 'sleep 0.1; echo "slept $?"'
    [ "$status" -eq 0 ]
    [ "$output" = "slept 0" ]
    bundle_runs_as "$mode"
  done
}

# SCMP_ACT_NOTIFY in Dune mode: the monitor forwards the call to the host, where the kernel
# filter underneath (the same notify rules) notifies the agent given by listenerPath
# (e2e/tools/seccomp-agent.c: mkdir answered with success without a directory).

@test "seccomp notify: in Dune mode the monitor forwards mkdir and the agent answers it, as in native mode and with runc" {
  start_seccomp_agent
  notify_seccomp '["mkdir","mkdirat"]'
  local prog='mkdir /tmp/foo; echo "mkdir $?"; [ -d /tmp/foo ] || echo "no dir"'
  for mode in dune native; do
    rm -f "$T/agent/states" "$T/agent/calls"
    bundle_jq "$B" --arg m "$mode" '.annotations = {"run.dune.mode": $m}'
    in_ctr sh -c "$prog"
    [ "$status" -eq 0 ]
    [ "$output" = $'mkdir 0\nno dir' ]
    [ ! -e "$B/rootfs/tmp/foo" ]
    cat "$T/agent/calls" "$T/agent/states"
    # The agent read the path from the caller's memory: in Dune mode, the monitor's checked copy.
    grep -q '^mkdir /tmp/foo pid [0-9]' "$T/agent/calls"
    jq -e --arg id "$ID" '.state.id == $id and .state.status == "creating" and .pid == .state.pid and .metadata == "bar"' "$T/agent/states"
    bundle_runs_as "$mode"
  done
  run --separate-stderr runc --root "$T/runc" run --bundle "$B" "$ID-runc" </dev/null
  [ "$status" -eq 0 ]
  [ "$output" = $'mkdir 0\nno dir' ]
  [ ! -e "$T/agent/errors" ]
}

@test "seccomp notify: a Dune process and its exec'd process are notified through the kernel filter, the trace says so" {
  start_seccomp_agent
  notify_seccomp '["mkdir","mkdirat"]'
  bundle_jq "$B" '.annotations = {"run.dune.trace": "true"}'
  start_ctr sh -c 'mkdir /tmp/traced; echo "mkdir $?"; while :; do sleep 0.1; done'
  wait_file "$T/$ID.out"
  [ "$(cat "$T/$ID.out")" = "mkdir 0" ]
  init=$(pid_of "$ID")
  is_dune_process "$init"
  wait_file "$ROOT/$ID/dune-trace.log"
  grep -E 'mkdir\(.*\) = 0 for the seccomp listener' "$ROOT/$ID/dune-trace.log"
  grep -q '^mkdir /tmp/traced pid [0-9]' "$T/agent/calls"
  [ ! -e "$B/rootfs/tmp/traced" ]
  run R exec "$ID" sh -c 'mkdir /tmp/bar; echo "mkdir $?"; [ -d /tmp/bar ] || echo "no dir"'
  [ "$status" -eq 0 ]
  [ "$output" = $'mkdir 0\nno dir' ]
  [ "$(wc -l <"$T/agent/states")" -eq 2 ]
  sed -n 2p "$T/agent/states" | jq -e --argjson p "$init" '.state.status == "running" and .state.pid == $p and .pid != $p'
  grep -q '^mkdir /tmp/bar pid [0-9]' "$T/agent/calls"
}

@test "seccomp notify: in Dune mode a notify rule on a call the monitor makes or answers itself is refused at create, naming it" {
  start_seccomp_agent
  local call
  for call in openat chmod mmap execve; do
    notify_seccomp "[\"mkdir\",\"$call\"]"
    in_ctr true
    [ "$status" -ne 0 ]
    [[ $stderr == *"SCMP_ACT_NOTIFY on \"$call\" is not supported in Dune mode"* ]]
    [ -z "$(R list -q)" ]
  done
  [ ! -e "$T/agent/states" ]
}

# ---------------------------------------------------------------- isolation from inside

@test "isolation: no mapping of the monitor (from the host's maps) is readable by the program" {
  install_tool peek "$B/rootfs"
  start_ctr /peek -f /tmp/addrs
  wait_lines "$T/$ID.out" 4
  pid=$(pid_of "$ID")
  is_dune_process "$pid"
  cat "$T/$ID.out"
  grep -qx 'self readable' "$T/$ID.out"
  own=$(awk '$1 == "own" {print $3}' "$T/$ID.out")
  [ "$(echo "$own" | wc -w)" -eq 3 ]
  cat "/proc/$pid/maps"
  monitor_image=0 n=0
  : >"$T/addrs"
  while read -r range _ _ _ _ name; do
    # The vDSO/vvar pages are lent to the guest read-only by design; vsyscall is the kernel's.
    case $name in "[vvar]" | "[vvar_vclock]" | "[vdso]" | "[vsyscall]" | /peek) continue ;; esac
    lo=$((16#${range%-*})) hi=$((16#${range#*-}))
    mine=0
    for a in $own; do ((a >= lo && a < hi)) && mine=1; done
    ((mine)) && continue
    # dune-run runs from a sealed memfd copy of itself (libdune/src/self_image.h).
    [[ $name == "/memfd:dune-run (deleted)" ]] && monitor_image=$((monitor_image + 1))
    printf '%x\n%x\n' "$lo" $((hi - 1)) >>"$T/addrs"
    n=$((n + 2))
  done <"/proc/$pid/maps"
  echo end >>"$T/addrs"
  echo "probing $n addresses ($monitor_image mappings of the dune-run image)"
  # The monitor's own image is among them, else the test proves nothing.
  [ "$monitor_image" -ge 1 ]
  mv "$T/addrs" "$B/rootfs/tmp/addrs"
  wait_status "$ID" stopped 60
  cat "$T/$ID.out"
  grep -qx "probed $n, readable 0" "$T/$ID.out"
  [ "$(grep -c ' SIGSEGV$' "$T/$ID.out")" -eq "$n" ]
  ! grep -q '^0x[0-9a-f]* readable$' "$T/$ID.out" || false
}

@test "isolation: the dune-run mappings the program sees in its own /proc/self/maps fault" {
  install_tool peek "$B/rootfs"
  in_ctr /peek -maps
  [ "$status" -eq 0 ]
  [[ $output == *"self readable"* ]]
  # At least the image's text and data.
  n=$(printf '%s\n' "${lines[@]}" | grep -c ' SIGSEGV$')
  [ "$n" -ge 2 ]
  [[ $output == *"readable 0"* ]]
}

@test "isolation: lidt and mov to cr3 end the program with a signal, the monitor survives" {
  install_tool privileged "$B/rootfs"
  for insn in lidt cr3; do
    in_ctr /privileged "$insn"
    [[ $output == "$insn: attempting" ]]
    [[ $output != *executed* ]]
    # SIGSEGV (139) or SIGILL (132), reported as the container's exit status.
    [ "$status" -eq 139 ] || [ "$status" -eq 132 ]
  done
  # In a running container: caught, and system calls still go through the monitor's policy.
  set_seccomp "$B" "$DENY_MKDIR"
  start_ctr sh -c '/privileged lidt catch /after-lidt; /privileged cr3 catch /after-cr3; /privileged lidt; echo "lidt status $?"; echo done; while :; do sleep 0.1; done'
  wait_lines "$T/$ID.out" 8
  cat "$T/$ID.out"
  grep -Eqx 'lidt: (SIGSEGV|SIGILL)' "$T/$ID.out"
  grep -Eqx 'cr3: (SIGSEGV|SIGILL)' "$T/$ID.out"
  grep -qx 'mkdir after lidt: Operation not permitted' "$T/$ID.out"
  grep -qx 'mkdir after cr3: Operation not permitted' "$T/$ID.out"
  grep -Eqx 'lidt status (139|132)' "$T/$ID.out"
  [ ! -e "$B/rootfs/after-lidt" ] && [ ! -e "$B/rootfs/after-cr3" ]
  [ "$(status_of "$ID")" = running ]
  c=$(dune_counters "$ID")
  echo "counters: $c"
  echo "$c" | jq -e '.exits > 0 and .denied_by_name.mkdir >= 2'
}

@test "isolation: int \$0x80 and sysenter do not reach the host kernel (mkdir denied, nothing on disk)" {
  install_tool hostcall "$B/rootfs"
  set_seccomp "$B" "$DENY_MKDIR"
  for entry in int80 sysenter; do
    in_ctr /hostcall "$entry" "/by-$entry"
    [[ ${lines[0]} == "$entry: attempting mkdir /by-$entry" ]]
    [ ! -e "$B/rootfs/by-$entry" ]
    # Either refused (a signal) or answered by the monitor, never a directory.
    [ "$status" -ne 0 ]
  done
}

@test "isolation control: natively, int \$0x80 mkdir does create the directory (the probe is real)" {
  install_tool hostcall "$B/rootfs"
  bundle_jq "$B" '.annotations = {"run.dune.mode": "native"}'
  set_seccomp "$B" '{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"]}'
  in_ctr /hostcall int80 /by-int80
  [ "$status" -eq 3 ]
  [ "${lines[1]}" = "int80: returned 0" ]
  [ -d "$B/rootfs/by-int80" ]
  bundle_runs_as native
}

# ---------------------------------------------------------------- escapes (libdune/tests/progs/escape.c)
# The libdune escape probes inside a Dune-mode container. Without the host runner of
# libdune's run_tests on their stdin, only the modes with their own evidence run here; the
# ones that need the monitor's memory read from the host (use after release, thread-exit
# writes, double fetches) are libdune's `make test FILTER=escape`.

# escape_in_ctr MODE [ARGS...]: the probe in a one-shot container; blocked means exit 0.
escape_in_ctr() {
  install_tool escape "$B/rootfs"
  in_ctr /escape "$@"
  [[ $stderr != *"unexpected state"* ]]
  [ "$status" -eq 0 ]
  [[ $output == *"blocked: "* ]]
}

# host_file_state PATH: what an escape must not change: "mode uid gid size mtime_ns [xattrs]".
host_file_state() {
  python3 -c 'import os, sys; s = os.stat(sys.argv[1]); print("%o" % (s.st_mode & 0o7777), s.st_uid, s.st_gid, s.st_size, s.st_mtime_ns, os.listxattr(sys.argv[1]))' "$1"
}

# restore_host_file PATH BEFORE AFTER: mode, owner, mtime and the probe's xattr back (states
# from host_file_state), if they differ.
restore_host_file() {
  [[ $3 != "$2" ]] || return 0
  read -r mode uid gid _ mtime _ <<<"$2"
  chmod "$mode" "$1"
  chown "$uid:$gid" "$1"
  python3 -c 'import os, sys
os.utime(sys.argv[1], ns=(int(sys.argv[2]), int(sys.argv[2])))
if "user.dune-escape" in os.listxattr(sys.argv[1]): os.removexattr(sys.argv[1], "user.dune-escape")' "$1" "$mtime"
}

@test "escape: the monitor's memory is out of reach of /proc/self/mem, /proc/PID/mem and every other name of it" {
  for mode in procmem-read procmem-write procmem-paths; do
    escape_in_ctr "$mode"
  done
}

@test "escape: no monitor descriptor (KVM, dune-run, counters) reaches the program over SCM_RIGHTS" {
  escape_in_ctr scm-rights
}

@test "escape: the monitor's host files cannot be reopened through /proc fd, map_files or exe names" {
  dune_run=$(readlink -f "$(dirname "$DUNE")/dune-run")
  escape_in_ctr procfd-reopen "$(stat -c %d:%i "$dune_run")" "$(stat -c %d:%i /dev/kvm)"
  escape_in_ctr self-exe-paths
}

@test "escape: chmod/chown/truncate/utimensat/setxattr/linkat through monitor fds leave the counters file, /dev/kvm and dune-run unchanged" {
  dune_run=$(readlink -f "$(dirname "$DUNE")/dune-run")
  kvm0=$(host_file_state /dev/kvm) run0=$(host_file_state "$dune_run")
  sum0=$(sha256sum <"$dune_run")
  install_tool escape "$B/rootfs"
  start_ctr sh -c '/escape procfd-metadata; echo "status $?"; while :; do sleep 0.1; done'
  wait_lines "$T/$ID.out" 2 30
  cat "$T/$ID.out"
  stats=$ROOT/$ID/dune-stats
  [ -s "$stats" ]
  stats_state=$(host_file_state "$stats")
  kvm1=$(host_file_state /dev/kvm) run1=$(host_file_state "$dune_run")
  sum1=$(sha256sum <"$dune_run")
  # Undo what an escape did to the host's files before judging it.
  restore_host_file /dev/kvm "$kvm0" "$kvm1"
  restore_host_file "$dune_run" "$run0" "$run1"
  echo "counters file: $stats_state"
  echo "/dev/kvm: $kvm0 -> $kvm1"
  echo "dune-run: $run0 -> $run1"
  [ "$kvm1" = "$kvm0" ]
  [ "$run1" = "$run0" ] && [ "$sum1" = "$sum0" ]
  # Sized by dune-run (a few KiB), never truncated to 1 GiB, never chmod'ed or chown'ed.
  [ "$(awk '{print $4}' <<<"$stats_state")" -lt 1048576 ]
  [[ $(awk '{print $1}' <<<"$stats_state") != 1777 && $(awk '{print $2}' <<<"$stats_state") != 12345 ]]
  [[ $stats_state != *dune-escape* ]]
  grep -qx 'status 0' "$T/$ID.out"
  grep -q '^blocked: ' "$T/$ID.out"
}

@test "escape: 1000 thread create/exit cycles stay bounded and creation works past KVM's vCPU cap" {
  escape_in_ctr thread-leak
}

@test "escape: a forged non-canonical RIP (rt_sigreturn, syscall entry) is a SIGSEGV for the program" {
  escape_in_ctr sigreturn-noncanonical
  escape_in_ctr syscall-entry-badrcx
}

# ---------------------------------------------------------------- clean-up at scale

# Each container's pid namespace is recorded while it runs, to find any task left in it after.
@test "clean-up: 50 Dune containers started, killed and deleted concurrently leave nothing" {
  local n=50 t0 t1 t2
  bundle_set_args "$B" sleep 100000
  ids=()
  for i in $(seq 1 "$n"); do ids+=("$ID-$i"); done
  t0=$(date +%s)
  # shellcheck disable=SC2016
  printf '%s\n' "${ids[@]}" | xargs -P 10 -I{} sh -c \
    '"$0" --root "$1" run -d --bundle "$2" {} </dev/null >/dev/null 2>"$3/{}.err" || { echo "run {} failed"; cat "$3/{}.err"; exit 255; }' \
    "$DUNE" "$ROOT" "$B" "$T"
  t1=$(date +%s)
  run R list --format json
  [ "$(echo "$output" | jq '[.[] | select(.status == "running")] | length')" -eq "$n" ]
  pidns=()
  for id in "${ids[@]}"; do
    pid=$(pid_of "$id")
    is_dune_process "$pid"
    pidns+=("$(readlink "/proc/$pid/ns/pid")")
  done
  # Every container has its own pid namespace (the host's is not among them).
  [ "$(printf '%s\n' "${pidns[@]}" | sort -u | wc -l)" -eq "$n" ]
  [[ " ${pidns[*]} " != *" $(readlink /proc/self/ns/pid) "* ]]

  printf '%s\n' "${ids[@]}" | xargs -P 10 -I{} "$DUNE" --root "$ROOT" kill {} KILL
  printf '%s\n' "${ids[@]}" | xargs -P 10 -I{} sh -c \
    'for _ in $(seq 100); do "$0" --root "$1" delete {} 2>/dev/null && exit 0; sleep 0.1; done; "$0" --root "$1" delete --force {}' \
    "$DUNE" "$ROOT"
  t2=$(date +%s)
  echo "# 50 containers: started in $((t1 - t0)) s, killed and deleted in $((t2 - t1)) s" >&3

  # No task (process or thread) in any of their pid namespaces, none with /dev/kvm open,
  # no dune-run or dune-init of this build.
  left=""
  dune_run=$(readlink -f "$(dirname "$DUNE")/dune-run")
  dune_init=$(readlink -f "$(dirname "$DUNE")/dune-init")
  for task in /proc/[0-9]*/task/[0-9]*; do
    ns=$(readlink "$task/ns/pid" 2>/dev/null) || continue
    [[ " ${pidns[*]} " == *" $ns "* ]] || continue
    # A zombie holds nothing and waits for the host's reaper (here pid 1, when `run -d`
    # has exited): gone, as in wait_gone.
    # A task that is gone by the time its stat is read (it was exiting) is gone.
    st=$(cat "$task/stat" 2>/dev/null) || continue
    [[ $(awk '{print $3}' <<<"$st") == Z ]] && continue
    left+="task $task in a container's pid namespace ($ns): $st"$'\n'
  done
  for p in /proc/[0-9]*; do
    exe=$(readlink "$p/exe" 2>/dev/null) || continue
    this_run=0
    [[ $exe == "$dune_run" || $exe == "/memfd:dune-run (deleted)" ]] && runs_dune_run "${p#/proc/}" "$dune_run" && this_run=1
    [[ $this_run == 1 || $exe == "$dune_init" ]] && left+="process ${p#/proc/} runs $exe"$'\n'
    ns=$(readlink "$p/ns/pid" 2>/dev/null) || continue
    if [[ " ${pidns[*]} " == *" $ns "* || $this_run == 1 ]]; then
      for fd in "$p"/fd/*; do
        [[ $(readlink "$fd" 2>/dev/null) == /dev/kvm ]] && left+="process ${p#/proc/} holds /dev/kvm"$'\n'
      done
    fi
  done
  left+=$(grep -F -e "$B" -e "$ID-" /proc/self/mountinfo || true)
  left+=$(find /sys/fs/cgroup/ -type d -name "$ID-*" 2>/dev/null || true)
  left+=$(find "$ROOT" -mindepth 1 2>/dev/null || true)
  echo "left: $left"
  [ -z "$left" ]
  run R list -q
  [ -z "$output" ]
  # Within the time budget of the suite on a 2-core machine.
  [ $((t2 - t0)) -le 120 ]
}
