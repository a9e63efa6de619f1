#!/usr/bin/env bats
# Root integration tests of the runc-compatible CLI on busybox bundles.
# The runtime under test is $DUNE (default build/bin/dune); DUNE=runc runs the same tests
# against the reference runtime. Tests whose name starts with [spec-strict] assert runtime-spec
# behaviour that runc 1.1.5 does not follow (they are expected to fail with DUNE=runc).

load lib/helpers
load lib/dune

setup_file() {
  e2e_require_env
  build_recvtty
  build_seccomp_agent
}

teardown_file() {
  rmdir /sys/fs/cgroup/*/dune-e2e 2>/dev/null || true
}

setup() {
  common_setup
  make_bundle "$B" sh -c 'echo ready > /tmp/ready; while :; do sleep 0.1; done' >/dev/null
}

teardown() {
  common_teardown
}

# ---------------------------------------------------------------- spec, --version, features

@test "spec writes the default config.json into the current directory" {
  mkdir "$T/s" && cd "$T/s"
  run R spec
  [ "$status" -eq 0 ]
  jq -e '.ociVersion | startswith("1.")' config.json
  jq -e '.process.args == ["sh"] and .process.terminal == true and .root.path == "rootfs"' config.json
  jq -e '[.linux.namespaces[].type] | contains(["pid","network","ipc","uts","mount"])' config.json
  jq -e '.mounts | map(.destination) | contains(["/proc","/dev","/dev/pts","/dev/shm","/sys"])' config.json
  jq -e '.process.capabilities.bounding | index("CAP_KILL") != null' config.json
  jq -e '.linux.maskedPaths | index("/proc/kcore") != null' config.json
  # runc refuses to overwrite an existing config.json; so must a drop-in.
  run R spec
  [ "$status" -ne 0 ]
}

@test "spec --bundle and --bundle= write into the bundle" {
  mkdir -p "$T/s1" "$T/s2"
  R spec --bundle "$T/s1"
  R spec --bundle="$T/s2"
  jq -e . "$T/s1/config.json" >/dev/null
  jq -e . "$T/s2/config.json" >/dev/null
}

@test "spec --rootless adds a user namespace with mappings of the caller" {
  mkdir -p "$T/s"
  R spec --rootless --bundle "$T/s"
  jq -e '[.linux.namespaces[].type] | index("user") != null' "$T/s/config.json"
  jq -e '.linux.uidMappings | length > 0' "$T/s/config.json"
  jq -e '.linux.gidMappings | length > 0' "$T/s/config.json"
  jq -e --argjson u "$(id -u)" '.linux.uidMappings[0].hostID == $u and .linux.uidMappings[0].containerID == 0' "$T/s/config.json"
}

@test "--version and -v: version, commit and spec on the first three lines, as runc" {
  local name
  name=$(basename "$DUNE")
  for flag in --version -v; do
    run R $flag
    [ "$status" -eq 0 ]
    [[ ${lines[0]} =~ ^$name\ version\ [0-9]+\.[0-9]+\.[0-9]+ ]]
    [[ ${lines[1]} =~ ^commit:\ [^\ ]+$ ]]
    [[ ${lines[2]} =~ ^spec:\ 1\.[0-9]+\.[0-9]+ ]]
    # docker reads the runtime and its version from the last line containing "version", the
    # commit from "commit:": only the first line may contain the word.
    [ "$(printf '%s\n' "${lines[@]}" | grep -c version)" -eq 1 ]
  done
}

@test "[dune-wording] --version: the commit is the git revision it was built from, or unknown" {
  run R --version
  [[ ${lines[1]} =~ ^commit:\ ([0-9a-f]{40}(-dirty)?|unknown)$ ]]
  if [[ ${lines[1]} != "commit: unknown" ]]; then
    # A revision of this repository's history.
    git -C "$E2E_REPO" cat-file -e "$(echo "${lines[1]#commit: }" | cut -d- -f1)^{commit}"
  fi
}

@test "features prints the OCI features document" {
  run --separate-stderr R features
  [ "$status" -eq 0 ]
  echo "$output" | jq -e '.ociVersionMin | startswith("1.")'
  echo "$output" | jq -e '.ociVersionMax | startswith("1.")'
  echo "$output" | jq -e '.hooks | contains(["prestart","createRuntime","createContainer","startContainer","poststart","poststop"])'
  echo "$output" | jq -e '.mountOptions | contains(["ro","rw","bind","rbind","nosuid","nodev","noexec"])'
  echo "$output" | jq -e '.linux.namespaces | contains(["pid","network","ipc","uts","mount","user","cgroup"])'
  echo "$output" | jq -e '.linux.capabilities | index("CAP_SYS_ADMIN") != null'
  echo "$output" | jq -e '.linux.cgroup.v1 == true'
  echo "$output" | jq -e '.linux.seccomp.enabled == true and (.linux.seccomp.actions | index("SCMP_ACT_ERRNO") != null)'
  # SCMP_ACT_NOTIFY where this kernel has seccomp user notification (as runc reports it).
  local notify=false
  grep -qw user_notif /proc/sys/kernel/seccomp/actions_avail && notify=true
  echo "$output" | jq -e --argjson n "$notify" '(.linux.seccomp.actions | index("SCMP_ACT_NOTIFY") != null) == $n'
}

@test "[spec-strict] features: seccomp supportedFlags are what this kernel accepts (WAIT_KILLABLE_RECV from Linux 5.19)" {
  run --separate-stderr R features
  [ "$status" -eq 0 ]
  echo "$output" | jq -c .linux.seccomp
  echo "$output" | jq -e '.linux.seccomp.knownFlags | contains(["SECCOMP_FILTER_FLAG_TSYNC","SECCOMP_FILTER_FLAG_LOG",
      "SECCOMP_FILTER_FLAG_SPEC_ALLOW","SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"])'
  echo "$output" | jq -e '.linux.seccomp.supportedFlags - .linux.seccomp.knownFlags == []'
  local v major minor want=false
  v=$(uname -r)
  major=${v%%.*}
  minor=${v#*.}
  minor=${minor%%[!0-9]*}
  if ((major > 5 || (major == 5 && minor >= 19))); then want=true; fi
  echo "$output" | jq -e --argjson w "$want" \
    '(.linux.seccomp.supportedFlags | index("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") != null) == $w'
  echo "$output" | jq -e '.linux.seccomp.supportedFlags | index("SECCOMP_FILTER_FLAG_TSYNC") != null'
}

# ---------------------------------------------------------------- lifecycle and state

@test "create, start, state, kill, delete: state transitions" {
  bundle_jq "$B" '.annotations = {"org.e2e.note": "hello", "run.dune.mode": "native"}'
  create_ctr "$ID" --pid-file "$T/pid"
  run R state "$ID"
  [ "$status" -eq 0 ]
  echo "$output" | jq -e --arg id "$ID" --arg b "$B" '
      .id == $id and .status == "created" and .pid > 0 and .bundle == $b
      and (.ociVersion | startswith("1.")) and .rootfs == ($b + "/rootfs")
      and (.created | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T")) and (.owner | type == "string")
      and .annotations["org.e2e.note"] == "hello"'
  pid=$(echo "$output" | jq .pid)
  # The container's process outlives create and waits for start.
  kill -0 "$pid"
  [ ! -e "$B/rootfs/tmp/ready" ]
  R start "$ID"
  wait_file "$B/rootfs/tmp/ready"
  [ "$(status_of "$ID")" = running ]
  [ "$(pid_of "$ID")" = "$pid" ]
  is_native_process "$pid"
  R kill "$ID" KILL
  wait_status "$ID" stopped
  run R delete "$ID"
  [ "$status" -eq 0 ]
  run R state "$ID"
  [ "$status" -ne 0 ]
  wait_gone "$pid"
  assert_nothing_left "$ID" "$B"
}

@test "a container whose process exits is stopped and keeps its exit out of list until delete" {
  bundle_set_args "$B" true
  create_ctr "$ID"
  R start "$ID"
  wait_status "$ID" stopped
  run R list -q
  [ "$output" = "$ID" ]
  R delete "$ID"
  run R list -q
  [ -z "$output" ]
}

@test "pid file: decimal digits, no newline, written before create returns" {
  create_ctr "$ID" --pid-file "$T/init.pid"
  [ -f "$T/init.pid" ]
  grep -Eq '^[0-9]+$' "$T/init.pid"
  [ "$(tail -c1 "$T/init.pid" | od -An -c | tr -d ' ')" != '\n' ]
  [ "$(cat "$T/init.pid")" = "$(pid_of "$ID")" ]
  kill -0 "$(cat "$T/init.pid")"
}

@test "list: table, json and -q" {
  create_ctr "$ID"
  id2=$ID-b
  create_ctr "$id2"
  R start "$id2"
  wait_status "$id2" running
  run R list
  [ "$status" -eq 0 ]
  [[ ${lines[0]} =~ ^ID\ +PID\ +STATUS\ +BUNDLE\ +CREATED\ +OWNER ]]
  printf '%s\n' "${lines[@]}" | grep -Eq "^$ID +[0-9]+ +created +$B "
  printf '%s\n' "${lines[@]}" | grep -Eq "^$id2 +[0-9]+ +running +$B "
  run R list --format json
  echo "$output" | jq -e --arg a "$ID" --arg b "$id2" --arg bd "$B" '
      (map(.id) | sort) == ([$a, $b] | sort)
      and (map(select(.id == $a))[0] | .status == "created" and .pid > 0 and .bundle == $bd)
      and (map(select(.id == $b))[0].status == "running")'
  run R list --format=json
  echo "$output" | jq -e 'length == 2'
  # One line, runc 1.1's fields in runc's order.
  [ "${#lines[@]}" -eq 1 ]
  echo "$output" | jq -e 'all(.[]; keys_unsorted == ["ociVersion","id","pid","status","bundle","rootfs","created","owner"])'
  echo "$output" | jq -e 'all(.[]; .owner == "root" and (.created | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$")))'
  run R list -q
  [ "$(printf '%s\n' "${lines[@]}" | sort | tr '\n' ' ')" = "$(printf '%s\n' "$ID" "$id2" | sort | tr '\n' ' ')" ]
}

@test "list of an empty --root prints the header only, json []" {
  run R list
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 1 ]
  run R list --format json
  [ "$(echo "$output" | jq -c 'if . == null then [] else . end')" = "[]" ]
}

@test "--root keeps containers apart; --root=R form" {
  create_ctr "$ID"
  run "$DUNE" --root="$T/other" list -q
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  run "$DUNE" --root="$ROOT" list -q
  [ "$output" = "$ID" ]
  # The state lives under --root.
  [ -n "$(find "$ROOT" -mindepth 1 -name "*$ID*")" ]
  run "$DUNE" --root "$T/other" state "$ID"
  [ "$status" -ne 0 ]
}

@test "both --flag value and --flag=value forms are accepted" {
  "$DUNE" --root="$ROOT" --log="$LOG" --log-format=json create --bundle="$B" --pid-file="$T/p1" "$ID" </dev/null >/dev/null 2>&1 3>&-
  [ "$(status_of "$ID")" = created ]
  [ -s "$T/p1" ]
  run "$DUNE" --root="$ROOT" list --format=json
  echo "$output" | jq -e --arg id "$ID" '.[0].id == $id'
  run "$DUNE" --root "$ROOT" ps --format=json "$ID"
  [ "$status" -eq 0 ]
  "$DUNE" --root "$ROOT" delete --force "$ID"
}

@test "kill: default TERM, by name, SIG-name and number" {
  bundle_set_args "$B" sh -c '
      trap "echo TERM >> /tmp/sigs" TERM
      trap "echo USR1 >> /tmp/sigs" USR1
      trap "echo USR2 >> /tmp/sigs" USR2
      trap "echo HUP >> /tmp/sigs" HUP
      echo ready > /tmp/ready
      while :; do sleep 0.1; done'
  create_ctr "$ID"
  R start "$ID"
  wait_file "$B/rootfs/tmp/ready"
  # One signal at a time: the shell handles pending signals in number order.
  R kill "$ID"
  wait_lines "$B/rootfs/tmp/sigs" 1
  R kill "$ID" USR1
  wait_lines "$B/rootfs/tmp/sigs" 2
  R kill "$ID" SIGUSR2
  wait_lines "$B/rootfs/tmp/sigs" 3
  R kill "$ID" 1
  wait_lines "$B/rootfs/tmp/sigs" 4
  [ "$(cat "$B/rootfs/tmp/sigs" | tr '\n' ' ')" = "TERM USR1 USR2 HUP " ]
  [ "$(status_of "$ID")" = running ]
  R kill "$ID" 9
  wait_status "$ID" stopped
}

@test "kill --all signals every process of the container" {
  create_ctr "$ID"
  R start "$ID"
  wait_file "$B/rootfs/tmp/ready"
  R exec --detach --pid-file "$T/exec.pid" "$ID" sleep 1000 </dev/null >/dev/null 2>&1
  epid=$(cat "$T/exec.pid")
  kill -0 "$epid"
  ipid=$(pid_of "$ID")
  R kill --all "$ID" KILL
  wait_status "$ID" stopped
  wait_gone "$epid"
  wait_gone "$ipid"
}

@test "delete --force stops and removes a running container" {
  bundle_jq "$B" --arg id "$ID" '.linux.cgroupsPath = "/dune-e2e/" + $id'
  create_ctr "$ID"
  R start "$ID"
  wait_status "$ID" running
  pid=$(pid_of "$ID")
  [ -n "$(cgroup_dirs "$ID")" ]
  R delete --force "$ID"
  wait_gone "$pid"
  assert_nothing_left "$ID" "$B"
}

@test "delete --force of a created container" {
  create_ctr "$ID"
  pid=$(pid_of "$ID")
  R delete --force "$ID"
  wait_gone "$pid"
  assert_nothing_left "$ID" "$B"
}

@test "run: foreground output and exit status, container gone afterwards" {
  in_ctr sh -c 'echo out-line; echo err-line >&2; exit 42'
  [ "$status" -eq 42 ]
  [ "$output" = "out-line" ]
  [ "$stderr" = "err-line" ]
  run R list -q
  [ -z "$output" ]
  assert_nothing_left "$ID" "$B"
}

@test "run: exit status 0, and 128+N for a process killed by signal N" {
  in_ctr true
  [ "$status" -eq 0 ]
  # The container's init cannot be SIGKILLed from inside its pid namespace: kill it from here.
  bundle_set_args "$B" sleep 1000
  R run --bundle "$B" "$ID" </dev/null >/dev/null 2>&1 &
  bgpid=$!
  BG_PIDS+=("$bgpid")
  wait_status "$ID" running
  R kill "$ID" KILL
  rc=0
  wait "$bgpid" || rc=$?
  [ "$rc" -eq 137 ]
}

@test "run --detach leaves a running container; run --pid-file" {
  R run --detach --pid-file "$T/pid" --bundle "$B" "$ID" </dev/null >/dev/null 2>&1
  wait_file "$B/rootfs/tmp/ready"
  [ "$(status_of "$ID")" = running ]
  [ "$(cat "$T/pid")" = "$(pid_of "$ID")" ]
}

# ---------------------------------------------------------------- exec

start_ctr() {
  create_ctr "$ID" "$@"
  R start "$ID"
  wait_file "$B/rootfs/tmp/ready"
}

@test "exec with trailing args: output and exit status" {
  start_ctr
  run --separate-stderr R exec "$ID" sh -c 'echo in-container; hostname; exit 7'
  [ "$status" -eq 7 ]
  [ "${lines[0]}" = in-container ]
  run R exec "$ID" cat /tmp/ready
  [ "$status" -eq 0 ]
  [ "$output" = ready ]
}

@test "exec --process FILE" {
  start_ctr
  cat >"$T/process.json" <<'J'
{"terminal": false, "user": {"uid": 65534, "gid": 65534}, "cwd": "/tmp",
 "env": ["PATH=/bin", "E2E_VAR=from-process-json"],
 "args": ["sh", "-c", "echo $E2E_VAR; pwd; id -u; id -g"]}
J
  run R exec --process "$T/process.json" "$ID"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = from-process-json ]
  [ "${lines[1]}" = /tmp ]
  [ "${lines[2]}" = 65534 ]
  [ "${lines[3]}" = 65534 ]
  run R exec --process="$T/process.json" "$ID"
  [ "$status" -eq 0 ]
}

@test "exec --env, --cwd, --user" {
  start_ctr
  run R exec --env E2E_A=one --env=E2E_B=two --cwd /etc --user 1000:1001 "$ID" sh -c 'echo $E2E_A $E2E_B; pwd; id -u; id -g'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "one two" ]
  [ "${lines[1]}" = /etc ]
  [ "${lines[2]}" = 1000 ]
  [ "${lines[3]}" = 1001 ]
}

@test "exec --detach --pid-file: the process runs in the container and is listed by ps" {
  start_ctr
  R exec --detach --pid-file "$T/exec.pid" "$ID" sh -c 'echo detached > /tmp/exec-out; sleep 1000' </dev/null >/dev/null 2>&1
  [ -f "$T/exec.pid" ]
  grep -Eq '^[0-9]+$' "$T/exec.pid"
  [ "$(tail -c1 "$T/exec.pid" | od -An -c | tr -d ' ')" != '\n' ]
  epid=$(cat "$T/exec.pid")
  kill -0 "$epid"
  wait_file "$B/rootfs/tmp/exec-out"
  # Same pid namespace as the container's init.
  [ "$(readlink /proc/"$epid"/ns/pid)" = "$(readlink /proc/"$(pid_of "$ID")"/ns/pid)" ]
  [ "$(readlink /proc/"$epid"/ns/mnt)" = "$(readlink /proc/"$(pid_of "$ID")"/ns/mnt)" ]
  run R ps --format json "$ID"
  echo "$output" | jq -e --argjson p "$epid" 'index($p) != null'
}

@test "exec --tty --console-socket: the pty master arrives over the socket" {
  start_ctr
  "$RECVTTY" "$T/tty.sock" "$T/tty.out" 3>&- &
  BG_PIDS+=($!)
  for _ in $(seq 100); do [ -S "$T/tty.sock" ] && break; sleep 0.02; done
  R exec --tty --console-socket "$T/tty.sock" --detach --pid-file "$T/exec.pid" "$ID" \
      sh -c 'test -t 0 && test -t 1 && echo tty-ok; tty' </dev/null
  wait "${BG_PIDS[-1]}"
  [ "$(cat "$T/tty.out.fds")" = 1 ]
  cat -A "$T/tty.out"   # shown by bats only if a check below fails
  grep -q tty-ok "$T/tty.out"
  grep -q '^/dev/pts/[0-9]' "$T/tty.out"
}

# ---------------------------------------------------------------- ps, pause, update, events

@test "ps: table and json" {
  start_ctr
  pid=$(pid_of "$ID")
  run R ps "$ID"
  [ "$status" -eq 0 ]
  [[ ${lines[0]} =~ PID ]]
  printf '%s\n' "${lines[@]:1}" | awk '{print $2}' | grep -qx "$pid"
  run R ps --format json "$ID"
  echo "$output" | jq -e --argjson p "$pid" 'type == "array" and index($p) != null'
}

@test "pause/resume: status paused and processes frozen" {
  bundle_set_args "$B" sh -c 'echo ready > /tmp/ready; while :; do echo tick >> /tmp/count; sleep 0.05; done'
  start_ctr
  wait_lines "$B/rootfs/tmp/count" 1
  R pause "$ID"
  [ "$(status_of "$ID")" = paused ]
  run R list --format json
  echo "$output" | jq -e '.[0].status == "paused"'
  sleep 0.3
  c1=$(wc -l <"$B/rootfs/tmp/count")
  sleep 0.6
  c2=$(wc -l <"$B/rootfs/tmp/count")
  [ "$c1" -eq "$c2" ]
  R resume "$ID"
  [ "$(status_of "$ID")" = running ]
  sleep 0.6
  c3=$(wc -l <"$B/rootfs/tmp/count")
  [ "$c3" -gt "$c2" ]
}

cgroup_file() { # CONTROLLER FILE: the container's cgroup file on the host (cgroup v1)
  echo "/sys/fs/cgroup/$1/dune-e2e/$ID/$2"
}

@test "cgroup limits from config.json are applied on the host" {
  bundle_jq "$B" --arg id "$ID" '.linux.cgroupsPath = "/dune-e2e/" + $id
      | .linux.resources.memory = {limit: 67108864}
      | .linux.resources.pids = {limit: 42}
      | .linux.resources.cpu = {shares: 512}'
  start_ctr
  [ "$(cat "$(cgroup_file memory memory.limit_in_bytes)")" = 67108864 ]
  [ "$(cat "$(cgroup_file pids pids.max)")" = 42 ]
  [ "$(cat "$(cgroup_file cpu cpu.shares)")" = 512 ]
  grep -qx "$(pid_of "$ID")" "$(cgroup_file memory cgroup.procs)"
}

@test "update: --resources FILE, --resources -, and flags" {
  bundle_jq "$B" --arg id "$ID" '.linux.cgroupsPath = "/dune-e2e/" + $id'
  start_ctr
  echo '{"memory": {"limit": 100663296}, "pids": {"limit": 77}}' >"$T/res.json"
  R update --resources "$T/res.json" "$ID"
  [ "$(cat "$(cgroup_file memory memory.limit_in_bytes)")" = 100663296 ]
  [ "$(cat "$(cgroup_file pids pids.max)")" = 77 ]
  echo '{"cpu": {"shares": 256}}' | R update --resources - "$ID"
  [ "$(cat "$(cgroup_file cpu cpu.shares)")" = 256 ]
  R update --memory 134217728 --pids-limit 99 "$ID"
  [ "$(cat "$(cgroup_file memory memory.limit_in_bytes)")" = 134217728 ]
  [ "$(cat "$(cgroup_file pids pids.max)")" = 99 ]
  R update --memory=150994944 "$ID"
  [ "$(cat "$(cgroup_file memory memory.limit_in_bytes)")" = 150994944 ]
  R update --cpu-share 300 "$ID"
  [ "$(cat "$(cgroup_file cpu cpu.shares)")" = 300 ]
  [ "$(status_of "$ID")" = running ]
}

@test "events --stats prints one JSON object with cpu, memory and pids" {
  bundle_jq "$B" --arg id "$ID" '.linux.cgroupsPath = "/dune-e2e/" + $id'
  start_ctr
  run --separate-stderr timeout 10 "$DUNE" --root "$ROOT" events --stats "$ID"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 1 ]
  echo "${lines[0]}" | jq -e --arg id "$ID" '.type == "stats" and .id == $id
      and (.data.cpu.usage.total | type == "number")
      and (.data.memory.usage.usage > 0)
      and (.data.pids.current >= 1)'
}

# ---------------------------------------------------------------- logging and console

@test "--log FILE --log-format json: every line is an object with level, msg, time" {
  run R state "no-such-$ID"
  [ "$status" -ne 0 ]
  run R start "no-such-$ID"
  [ -s "$LOG" ]
  while IFS= read -r line; do
    echo "$line" | jq -e 'type == "object" and (.level | type == "string") and (.msg | type == "string") and (.time | type == "string")' >/dev/null
  done <"$LOG"
  [ "$(grep -c '"level":"error"' "$LOG")" -ge 2 ]
  # Appended, not truncated.
  n=$(wc -l <"$LOG")
  run R state "no-such-$ID"
  [ "$(wc -l <"$LOG")" -gt "$n" ]
}

@test "create --console-socket with terminal: true" {
  bundle_jq "$B" '.process.terminal = true'
  bundle_set_args "$B" sh -c 'test -t 0 && test -t 1 && echo console-ok; tty; echo ready > /tmp/ready; sleep 1000'
  "$RECVTTY" "$T/tty.sock" "$T/tty.out" 3>&- &
  BG_PIDS+=($!)
  for _ in $(seq 100); do [ -S "$T/tty.sock" ] && break; sleep 0.02; done
  create_ctr "$ID" --console-socket "$T/tty.sock"
  R start "$ID"
  wait_file "$B/rootfs/tmp/ready"
  wait_file "$T/tty.out"
  sleep 0.2
  [ "$(cat "$T/tty.out.fds")" = 1 ]
  grep -q console-ok "$T/tty.out"
  grep -q '^/dev/pts/0' "$T/tty.out"
}

# ---------------------------------------------------------------- container configuration

@test "config: hostname, env, cwd" {
  bundle_jq "$B" '.hostname = "e2e-host" | .process.env += ["E2E_X=forty two"] | .process.cwd = "/etc"'
  in_ctr sh -c 'hostname; echo "$E2E_X"; pwd'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = e2e-host ]
  [ "${lines[1]}" = "forty two" ]
  [ "${lines[2]}" = /etc ]
}

@test "config: user uid, gid, additionalGids, umask" {
  bundle_jq "$B" '.process.user = {uid: 1234, gid: 2345, additionalGids: [3456, 4567], umask: 63}'
  in_ctr sh -c 'id -u; id -g; id -G; umask'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = 1234 ]
  [ "${lines[1]}" = 2345 ]
  [ "$(echo "${lines[2]}" | tr ' ' '\n' | sort -n | tr '\n' ' ')" = "2345 3456 4567 " ]
  [ "${lines[3]}" = 0077 ]
}

@test "config: rlimits" {
  bundle_jq "$B" '.process.rlimits = [{type: "RLIMIT_NOFILE", soft: 777, hard: 888}, {type: "RLIMIT_NPROC", soft: 555, hard: 555}]'
  in_ctr sh -c 'ulimit -n; ulimit -Hn; ulimit -u'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = 777 ]
  [ "${lines[1]}" = 888 ]
  [ "${lines[2]}" = 555 ]
}

@test "config: capability sets" {
  in_ctr sh -c 'grep ^Cap /proc/self/status'
  [ "$status" -eq 0 ]
  # Default spec: CAP_AUDIT_WRITE(29) CAP_KILL(5) CAP_NET_BIND_SERVICE(10).
  echo "$output" | grep -qx $'CapBnd:\t0000000020000420'
  echo "$output" | grep -qx $'CapEff:\t0000000020000420'
  echo "$output" | grep -qx $'CapPrm:\t0000000020000420'
  bundle_jq "$B" '.process.capabilities = {bounding: ["CAP_CHOWN","CAP_KILL","CAP_SYS_ADMIN"],
      effective: ["CAP_CHOWN","CAP_KILL"], permitted: ["CAP_CHOWN","CAP_KILL"],
      inheritable: ["CAP_KILL"], ambient: ["CAP_KILL"]}'
  in_ctr sh -c 'grep ^Cap /proc/self/status'
  [ "$status" -eq 0 ]
  echo "$output" | grep -qx $'CapBnd:\t0000000000200021'
  echo "$output" | grep -qx $'CapEff:\t0000000000000021'
  echo "$output" | grep -qx $'CapPrm:\t0000000000000021'
  echo "$output" | grep -qx $'CapInh:\t0000000000000020'
  echo "$output" | grep -qx $'CapAmb:\t0000000000000020'
}

@test "config: noNewPrivileges" {
  in_ctr grep NoNewPrivs /proc/self/status
  [ "$output" = $'NoNewPrivs:\t1' ]
  bundle_jq "$B" '.process.noNewPrivileges = false'
  in_ctr grep NoNewPrivs /proc/self/status
  [ "$output" = $'NoNewPrivs:\t0' ]
}

@test "config: readonly root" {
  bundle_jq "$B" '.root.readonly = true'
  in_ctr sh -c 'touch /x 2>&1; echo rc=$?; grep " / " /proc/mounts'
  [ "$status" -eq 0 ]
  [[ $output == *"Read-only file system"* ]]
  [[ $output == *rc=1* ]]
  echo "$output" | grep -E ' / ' | grep -q '[ ,]ro[ ,]'
  [ ! -e "$B/rootfs/x" ]
}

@test "config: maskedPaths and readonlyPaths" {
  echo top-secret >"$B/rootfs/etc/secret"
  mkdir -p "$B/rootfs/data/sub"
  bundle_jq "$B" '.linux.maskedPaths += ["/etc/secret", "/data/sub"] | .linux.readonlyPaths += ["/data"]'
  in_ctr sh -c 'cat /etc/secret; echo "masked=[$(cat /etc/secret)]"; ls -A /data/sub | wc -l;
      touch /data/new 2>&1; echo rc=$?; grep " /proc/sys " /proc/mounts; echo rc=$?;
      wc -c < /proc/keys; ls -A /sys/firmware | wc -l'
  [ "$status" -eq 0 ]
  printf '%s\n' "${lines[@]}"
  [[ ${lines[0]} == "masked=[]" ]]
  [ "${lines[1]}" = 0 ]
  [[ ${lines[2]} == *"Read-only file system"* ]]
  [ "${lines[3]}" = rc=1 ]
  [[ ${lines[4]} =~ \ /proc/sys\ [a-z0-9]+\ ro[\ ,] ]]
  [ "${lines[5]}" = rc=0 ]
  [ "${lines[6]}" = 0 ]
  [ "${lines[7]}" = 0 ]
}

@test "config: sysctl" {
  bundle_jq "$B" '.linux.sysctl = {"net.ipv4.ip_forward": "1", "kernel.domainname": "e2e.example"}'
  in_ctr sh -c 'cat /proc/sys/net/ipv4/ip_forward; cat /proc/sys/kernel/domainname'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = 1 ]
  [ "${lines[1]}" = e2e.example ]
}

@test "config: tmpfs with size, read-only bind mount" {
  mkdir -p "$T/share"
  echo shared-content >"$T/share/file"
  bundle_jq "$B" --arg s "$T/share" '.mounts += [
      {destination: "/scratch", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "size=1m", "mode=1777"]},
      {destination: "/share", type: "bind", source: $s, options: ["rbind", "ro"]}]'
  in_ctr sh -c 'grep " /scratch " /proc/mounts; cat /share/file; touch /share/new 2>&1; echo rc=$?;
      echo data > /scratch/f && cat /scratch/f; dd if=/dev/zero of=/scratch/big bs=1k count=2048 2>&1; echo rc=$?'
  [ "$status" -eq 0 ]
  printf '%s\n' "${lines[@]}"
  [[ ${lines[0]} =~ ^tmpfs\ /scratch\ tmpfs\ .*size=1024k ]]
  [ "${lines[1]}" = shared-content ]
  [[ ${lines[2]} == *"Read-only file system"* ]]
  [ "${lines[3]}" = rc=1 ]
  [ "${lines[4]}" = data ]
  [[ $output == *"No space left on device"* ]]
  [ "${lines[-1]}" = rc=1 ]
  [ ! -e "$T/share/new" ]
}

@test "config: default devices and a linux.devices entry" {
  bundle_jq "$B" '.linux.devices = [{path: "/dev/e2ezero", type: "c", major: 1, minor: 5, fileMode: 438, uid: 0, gid: 0}]
      | .linux.resources.devices += [{allow: true, type: "c", major: 1, minor: 5, access: "rwm"}]'
  in_ctr sh -c 'for d in null zero full random urandom tty; do test -c /dev/$d && echo $d; done;
      ls -l /dev/e2ezero; head -c 4 /dev/e2ezero | od -An -tx1; echo x > /dev/null && echo null-ok;
      test -L /dev/fd && test -L /dev/stdin && echo links-ok; test -d /dev/pts && echo pts-ok; test -d /dev/shm && echo shm-ok'
  [ "$status" -eq 0 ]
  printf '%s\n' "${lines[@]}"
  [ "$(printf '%s\n' "${lines[@]:0:6}" | tr '\n' ' ')" = "null zero full random urandom tty " ]
  [[ ${lines[6]} =~ ^crw-rw-rw-\ .*\ 1,\ +5\ .*/dev/e2ezero$ ]]
  [ "$(echo "${lines[7]}" | tr -d ' ')" = 00000000 ]
  [ "${lines[8]}" = null-ok ]
  [ "${lines[9]}" = links-ok ]
  [ "${lines[10]}" = pts-ok ]
  [ "${lines[11]}" = shm-ok ]
}

@test "config: user namespace with uid/gid mappings" {
  chown -R 100000:100000 "$B/rootfs"
  bundle_jq "$B" '.linux.namespaces += [{type: "user"}]
      | .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
      | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]'
  bundle_set_args "$B" sh -c 'id -u; cat /proc/self/uid_map; cat /proc/self/gid_map; touch /root/f && stat -c %u /root/f; echo ready > /tmp/ready; sleep 1000'
  create_ctr "$ID"
  R start "$ID"
  wait_file "$B/rootfs/tmp/ready"
  lines=()
  mapfile -t lines <"$T/$ID.out"
  [ "${lines[0]}" = 0 ]
  [ "$(echo "${lines[1]}" | tr -s ' ' | sed 's/^ //')" = "0 100000 65536" ]
  [ "$(echo "${lines[2]}" | tr -s ' ' | sed 's/^ //')" = "0 100000 65536" ]
  [ "${lines[3]}" = 0 ]
  # On the host the file belongs to the mapped uid, the process runs as it.
  [ "$(stat -c %u "$B/rootfs/root/f")" = 100000 ]
  [ "$(awk '/^Uid:/ {print $2}' /proc/"$(pid_of "$ID")"/status)" = 100000 ]
}

@test "config: oomScoreAdj" {
  bundle_jq "$B" '.process.oomScoreAdj = 123'
  in_ctr cat /proc/self/oom_score_adj
  [ "$status" -eq 0 ]
  [ "$output" = 123 ]
}

@test "config: seccomp denies mkdir with EPERM" {
  bundle_jq "$B" '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64"],
      syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1}]}'
  in_ctr sh -c 'mkdir /tmp/d 2>&1; echo rc=$?; touch /tmp/f && echo touch-ok; grep ^Seccomp: /proc/self/status'
  [ "$status" -eq 0 ]
  [[ ${lines[0]} == *"Operation not permitted"* ]]
  [ "${lines[1]}" = rc=1 ]
  [ "${lines[2]}" = touch-ok ]
  [ "${lines[3]}" = $'Seccomp:\t2' ]
  [ ! -d "$B/rootfs/tmp/d" ]
}

# SCMP_ACT_NOTIFY: the agent (e2e/tools/seccomp-agent.c) answers mkdir with success without
# making the directory and chmod with ENOMEDIUM, as runc's seccompagent does. Native mode (the
# annotation; runc ignores it, so DUNE=runc runs these as they are); Dune mode is in dune.bats.

@test "seccomp notify: the agent answers mkdir and chmod, and gets the fd with the state (pid, id, creating, metadata); noNewPrivileges true and false" {
  start_seccomp_agent
  notify_seccomp '["mkdir","mkdirat","chmod","fchmod","fchmodat","fchmodat2"]'
  bundle_jq "$B" '.annotations["run.dune.mode"] = "native"'
  for nnp in true false; do
    rm -f "$T/agent/states" "$T/agent/calls"
    bundle_jq "$B" --argjson n "$nnp" '.process.noNewPrivileges = $n'
    in_ctr sh -c 'mkdir /tmp/foo; echo "mkdir $?"; [ -d /tmp/foo ] || echo "no dir"; touch /tmp/f; chmod 777 /tmp/f; echo "chmod $?"'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "mkdir 0" ]
    [ "${lines[1]}" = "no dir" ]
    [ "${lines[2]}" = "chmod 1" ]
    [[ $stderr == *"chmod: /tmp/f: No medium found"* ]]
    [ ! -e "$B/rootfs/tmp/foo" ]
    cat "$T/agent/calls" "$T/agent/states"
    grep -q '^mkdir /tmp/foo pid [0-9]' "$T/agent/calls"
    grep -q '^chmod /tmp/f pid [0-9]' "$T/agent/calls"
    [ ! -e "$T/agent/errors" ]
    [ "$(wc -l <"$T/agent/states")" -eq 1 ]
    jq -e --arg id "$ID" '.fds == ["seccompFd"] and .metadata == "bar" and (.ociVersion | startswith("1."))
        and .state.id == $id and .state.status == "creating" and .pid > 1 and .pid == .state.pid' "$T/agent/states"
  done
  bundle_runs_as native
}

@test "seccomp notify: the calls the setup makes after loading the filter can be notified (execve, openat, read, close, socket calls)" {
  start_seccomp_agent
  notify_seccomp '["execve","openat","open","read","close","sendmsg","sendto","recvfrom","recvmsg"]'
  bundle_jq "$B" '.annotations["run.dune.mode"] = "native"'
  for nnp in true false; do
    rm -f "$T/agent/calls"
    bundle_jq "$B" --argjson n "$nnp" '.process.noNewPrivileges = $n'
    in_ctr sh -c 'echo ok'
    [ "$status" -eq 0 ]
    [ "$output" = ok ]
    # The agent let them continue: the runtime's own calls after the filter, then the program's.
    [ "$(grep -c '^continue ' "$T/agent/calls")" -gt 3 ]
  done
  [ ! -e "$T/agent/errors" ]
  bundle_runs_as native
}

@test "seccomp notify: a non-root user in a user namespace, the filter loaded before and after the user switch" {
  start_seccomp_agent
  notify_seccomp '["mkdir","mkdirat"]'
  chown -R 100000:100000 "$B/rootfs"
  bundle_jq "$B" '.annotations["run.dune.mode"] = "native" | .process.user = {uid: 1000, gid: 1000}
      | .linux.namespaces += [{type: "user"}]
      | .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
      | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]'
  for nnp in true false; do
    rm -f "$T/agent/states"
    bundle_jq "$B" --argjson n "$nnp" '.process.noNewPrivileges = $n'
    in_ctr sh -c 'id -u; mkdir /tmp/foo; echo "mkdir $?"; [ -d /tmp/foo ] || echo "no dir"'
    [ "$status" -eq 0 ]
    [ "$output" = $'1000\nmkdir 0\nno dir' ]
    jq -e --arg id "$ID" '.state.id == $id and .pid > 1' "$T/agent/states"
  done
  bundle_runs_as native
}

@test "seccomp notify: the init's pid is the container's; an exec'd process sends its own fd (its pid, state running)" {
  start_seccomp_agent
  notify_seccomp '["mkdir","mkdirat"]'
  bundle_jq "$B" '.annotations["run.dune.mode"] = "native"'
  start_ctr
  init=$(pid_of "$ID")
  is_native_process "$init"
  wait_lines "$T/agent/states" 1
  sed -n 1p "$T/agent/states" | jq -e --argjson p "$init" --arg b "$B" \
    '.pid == $p and .state.pid == $p and .state.status == "creating" and .state.bundle == $b'
  run R exec "$ID" sh -c 'mkdir /tmp/bar; echo "mkdir $?"; [ -d /tmp/bar ] || echo "no dir"'
  [ "$status" -eq 0 ]
  [ "$output" = $'mkdir 0\nno dir' ]
  [ "$(wc -l <"$T/agent/states")" -eq 2 ]
  cat "$T/agent/states"
  sed -n 2p "$T/agent/states" | jq -e --argjson p "$init" --arg id "$ID" \
    '.state.id == $id and .state.status == "running" and .state.pid == $p and .pid > 1 and .pid != $p and .metadata == "bar"'
  grep -q '^mkdir /tmp/bar pid [0-9]' "$T/agent/calls"
}

@test "seccomp notify: when the agent dies, notified calls fail with ENOSYS and exec is refused" {
  start_seccomp_agent
  notify_seccomp '["mkdir","mkdirat"]'
  bundle_jq "$B" '.annotations["run.dune.mode"] = "native"'
  bundle_set_args "$B" sh -c 'while [ ! -e /tmp/go ]; do sleep 0.05; done; mkdir /tmp/foo; echo "mkdir $?"; sleep 100'
  create_ctr "$ID"
  R start "$ID"
  wait_lines "$T/agent/states" 1
  kill "$AGENT_PID"
  wait_gone "$AGENT_PID"
  touch "$B/rootfs/tmp/go"
  wait_lines "$T/$ID.out" 1
  is_native_process "$(pid_of "$ID")"
  cat "$T/$ID.out" "$T/$ID.err"
  [ "$(cat "$T/$ID.out")" = "mkdir 1" ]
  grep -q "can't create directory '/tmp/foo': Function not implemented" "$T/$ID.err"
  [ ! -e "$B/rootfs/tmp/foo" ]
  # Nor can a new process start without the agent; the container keeps running.
  run --separate-stderr R exec "$ID" sh -c 'echo never'
  [ "$status" -ne 0 ]
  [ -z "$output" ]
  [[ "$stderr$(cat "$LOG")" == *"failed to connect with seccomp agent specified in the seccomp profile"* ]]
  [ "$(status_of "$ID")" = running ]
}

@test "seccomp notify: no listenerPath, an agent that is not there, notify on write or as default action: refused, nothing left" {
  start_seccomp_agent
  bundle_jq "$B" '.annotations["run.dune.mode"] = "native"'
  local cases=(
    '.linux.seccomp.listenerPath = ""|listenerPath is not set'
    'del(.linux.seccomp.listenerPath)|listenerPath is not set'
    '.linux.seccomp.listenerPath = "'"$T"'/nobody.sock"|failed to connect with seccomp agent specified in the seccomp profile'
    '.linux.seccomp.listenerPath = "@abstract-nobody"|failed to connect with seccomp agent specified in the seccomp profile'
    '.linux.seccomp.syscalls[0].names = ["mkdir", "write"]|SCMP_ACT_NOTIFY cannot be used for the write syscall'
    '.linux.seccomp.defaultAction = "SCMP_ACT_NOTIFY"|SCMP_ACT_NOTIFY cannot be used as default action'
  )
  local c
  for c in "${cases[@]}"; do
    notify_seccomp '["mkdir","mkdirat"]'
    bundle_jq "$B" "${c%%|*}"
    rm -f "$LOG"
    in_ctr sh -c 'mkdir /tmp/foo; echo "ran"'
    [ "$status" -ne 0 ]
    [ -z "$output" ]
    [[ "$stderr$(cat "$LOG" 2>/dev/null)" == *"${c#*|}"* ]]
    [ -z "$(R list -q)" ]
    [ ! -e "$T/agent/states" ]
    # The reference runtime refuses the same configuration.
    run --separate-stderr runc --root "$T/runc" run --bundle "$B" "$ID-runc" </dev/null
    echo "runc: $status $stderr"
    [ "$status" -ne 0 ]
    [ -z "$output" ]
  done
  [ ! -e "$T/agent/errors" ]
}

@test "config: namespaces are new, cgroup limit visible in the container's cgroup" {
  bundle_jq "$B" --arg id "$ID" '.linux.cgroupsPath = "/dune-e2e/" + $id | .linux.resources.memory = {limit: 33554432}'
  start_ctr
  pid=$(pid_of "$ID")
  for ns in pid net ipc uts mnt; do
    [ "$(readlink /proc/$pid/ns/$ns)" != "$(readlink /proc/self/ns/$ns)" ]
  done
  grep -q ":memory:/dune-e2e/$ID\$" /proc/"$pid"/cgroup
  [ "$(cat "$(cgroup_file memory memory.limit_in_bytes)")" = 33554432 ]
  run R exec "$ID" sh -c 'echo $$'
  [ "$output" != "" ]
  run R exec "$ID" cat /proc/1/cmdline
  [[ $output == sh* ]]
}

# ---------------------------------------------------------------- hooks

# hook NAME: a hook entry that appends "NAME STATUS PID" to $T/hooks/log. The script and
# the log dir exist at the same absolute path on the host and inside the container, so the
# entry works whether the hook runs in the runtime's or in the container's mount namespace.
setup_hooks() {
  mkdir -p "$T/hooks" "$B/rootfs$T/hooks"
  cat >"$T/hook.sh" <<'H'
#!/bin/sh
state=$(cat)
status=$(echo "$state" | sed -n 's/.*"status": *"\([a-z]*\)".*/\1/p')
pid=$(echo "$state" | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
echo "$1 $status ${pid:-none}" >> "$2"
H
  chmod 755 "$T/hook.sh"
  cp "$T/hook.sh" "$B/rootfs$T/hook.sh"
  bundle_jq "$B" --arg t "$T" '
      def hook(n): {path: "/bin/sh", args: ["sh", ($t + "/hook.sh"), n, ($t + "/hooks/log")]};
      .hooks = {prestart: [hook("prestart")], createRuntime: [hook("createRuntime")],
                createContainer: [hook("createContainer")], startContainer: [hook("startContainer")],
                poststart: [hook("poststart")], poststop: [hook("poststop")]}
      | .mounts += [{destination: ($t + "/hooks"), type: "bind", source: ($t + "/hooks"), options: ["rbind", "rw"]}]'
}

run_hooked_lifecycle() {
  bundle_set_args "$B" sleep 1
  create_ctr "$ID"
  pid=$(pid_of "$ID")
  R start "$ID"
  wait_status "$ID" stopped
  R delete "$ID"
}

@test "hooks: all six kinds run with the state on stdin" {
  setup_hooks
  run_hooked_lifecycle
  cat "$T/hooks/log"
  mapfile -t h <"$T/hooks/log"
  [ "${#h[@]}" -eq 6 ]
  [ "${h[0]}" = "prestart creating $pid" ]
  [ "${h[1]}" = "createRuntime creating $pid" ]
  [[ ${h[2]} =~ ^createContainer\ creating\ [0-9]+$ ]]
  grep -Eqx 'startContainer created [0-9]+' "$T/hooks/log"
  grep -Eqx 'poststart (created|running) [0-9]+' "$T/hooks/log"
  [[ ${h[5]} =~ ^poststop\ stopped ]]
}

@test "[spec-strict] hooks: startContainer before poststart, poststart sees running" {
  setup_hooks
  run_hooked_lifecycle
  cat "$T/hooks/log"
  mapfile -t h <"$T/hooks/log"
  [ "$(printf '%s\n' "${h[@]}" | awk '{print $1}' | tr '\n' ' ')" = \
    "prestart createRuntime createContainer startContainer poststart poststop " ]
  [ "${h[4]}" = "poststart running $pid" ]
}

@test "hooks: a hook that exceeds its timeout fails create and leaves nothing" {
  bundle_jq "$B" '.hooks = {createRuntime: [{path: "/bin/sleep", args: ["sleep", "30"], timeout: 1}]}'
  SECONDS=0
  run create_ctr "$ID"
  [ "$status" -ne 0 ]
  [ "$SECONDS" -lt 10 ]
  assert_nothing_left "$ID" "$B"
}

# ---------------------------------------------------------------- more CLI flags

@test "create --preserve-fds passes extra descriptors to the container" {
  bundle_set_args "$B" sh -c 'echo via-fd3 >&3; echo ready > /tmp/ready; sleep 1000'
  "$DUNE" --root "$ROOT" create --preserve-fds 1 --bundle "$B" "$ID" 3>"$T/fd3.out" </dev/null >/dev/null 2>&1
  R start "$ID"
  wait_file "$B/rootfs/tmp/ready"
  [ "$(cat "$T/fd3.out")" = via-fd3 ]
}

@test "descriptors the caller leaves open do not reach the container (only 0-2 and --preserve-fds)" {
  bundle_set_args "$B" sh -c 'ls /proc/self/fd > /tmp/fds; echo ready > /tmp/ready; sleep 1000'
  bundle_jq "$B" '.annotations["run.dune.mode"] = "native"'
  "$DUNE" --root "$ROOT" create --preserve-fds 1 --bundle "$B" "$ID" 3>/dev/null 7</dev/null 9>"$T/stray" </dev/null >/dev/null 2>&1
  R start "$ID"
  wait_file "$B/rootfs/tmp/ready"
  is_native_process "$(pid_of "$ID")"
  grep -qx 3 "$B/rootfs/tmp/fds"
  ! grep -qxE '7|9' "$B/rootfs/tmp/fds" || false
}

@test "create --no-pivot and --no-new-keyring are accepted and the container works" {
  bundle_set_args "$B" sh -c 'ls / > /tmp/ls; echo ready > /tmp/ready; sleep 1000'
  create_ctr "$ID" --no-pivot --no-new-keyring
  R start "$ID"
  wait_file "$B/rootfs/tmp/ready"
  grep -qx bin "$B/rootfs/tmp/ls"
  grep -qx proc "$B/rootfs/tmp/ls"
  ! grep -qx work "$B/rootfs/tmp/ls" || false
}

@test "--debug writes debug lines to the JSON log" {
  create_ctr "$ID"
  # Without --debug: no debug lines (the log may not even exist).
  [ ! -s "$LOG" ] || ! grep -q '"level":"debug"' "$LOG"
  R delete --force "$ID"
  "$DUNE" --root "$ROOT" --debug --log "$LOG" --log-format json create --bundle "$B" "$ID" </dev/null >/dev/null 2>&1 3>&-
  grep -q '"level":"debug"' "$LOG"
  jq -e 'select(.level == "debug") | .msg | type == "string"' "$LOG" >/dev/null
}

@test "--systemd-cgroup fails clearly where systemd is not running" {
  if [[ -d /run/systemd/system ]]; then
    skip "systemd is running on this host: the no-systemd error path cannot be exercised"
  fi
  bundle_jq "$B" --arg id "$ID" '.linux.cgroupsPath = "system.slice:e2e:" + $id'
  run --separate-stderr "$DUNE" --root "$ROOT" --log "$LOG" --log-format json --systemd-cgroup create --bundle "$B" "$ID" </dev/null 3>&-
  [ "$status" -ne 0 ]
  [[ $stderr == *systemd* ]]
  assert_nothing_left "$ID" "$B"
}

@test "--rootless false is accepted as a global flag" {
  run "$DUNE" --root "$ROOT" --rootless false list -q
  [ "$status" -eq 0 ]
  run "$DUNE" --root "$ROOT" --rootless=false list -q
  [ "$status" -eq 0 ]
}

@test "events --interval streams stats objects" {
  start_ctr
  run --separate-stderr timeout 3.5 "$DUNE" --root "$ROOT" events --interval 1s "$ID"
  # timeout ends the stream: 124
  [ "$status" -eq 124 ]
  [ "${#lines[@]}" -ge 2 ]
  for l in "${lines[@]}"; do echo "$l" | jq -e --arg id "$ID" '.type == "stats" and .id == $id' >/dev/null; done
}

@test "help, -h and --help list the commands" {
  for h in help -h --help; do
    run R $h
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "NAME:" ]
    [[ ${lines[1]} =~ ^\ +$(basename "$DUNE")\ -\  ]]
    for c in create start run state list kill delete exec ps pause resume update events features spec; do
      [[ $output == *"$c"* ]] || { echo "help lacks $c"; false; }
    done
  done
}

@test "[dune-contract] concurrent creates of one id: exactly one wins, its state stays whole" {
  bundle_jq "$B" --arg id "$ID" '.linux.cgroupsPath = "/dune-e2e/" + $id'
  local pids=()
  for i in 1 2 3 4 5; do
    (
      rc=0
      R create --bundle "$B" "$ID" </dev/null >"$T/race.$i" 2>&1 || rc=$?
      echo "$rc" >"$T/race.$i.rc"
    ) &
    pids+=($!)
  done
  # Only these: a bare `wait` would also wait for bats' BATS_TEST_TIMEOUT watchdog.
  wait "${pids[@]}"
  for i in 1 2 3 4 5; do echo "create $i: rc=$(cat "$T/race.$i.rc") $(cat "$T/race.$i")"; done
  [ "$(cat "$T"/race.*.rc | grep -cx 0)" -eq 1 ]
  [ "$(cat "$T"/race.*.rc | grep -cvx 0)" -eq 4 ]
  [ "$(status_of "$ID")" = created ]
  R start "$ID"
  wait_file "$B/rootfs/tmp/ready"
  R delete --force "$ID"
  assert_nothing_left "$ID" "$B"
}

# ---------------------------------------------------------------- setup semantics runc's tests check
# Each compares with runc's behaviour (DUNE=runc runs them against Debian's runc 1.1.5; the
# [spec-strict] and [dune-contract] ones are where dune goes further). The key ones run in
# both modes: Dune mode (the default) and native (annotation run.dune.mode=native).

use_mode() {
  bundle_jq "$B" --arg m "$1" '.annotations["run.dune.mode"] = $m'
}

cwd_exec_user_zero() {
  use_mode "$1"
  chown 42 "$B/rootfs/root"
  chmod 700 "$B/rootfs/root"
  bundle_jq "$B" '.process.cwd = "/root" | .process.user.uid = 42'
  bundle_set_args "$B" sh -c 'pwd > /tmp/pwd; echo ready > /tmp/ready; sleep 1000'
  create_ctr "$ID"
  R start "$ID"
  wait_file "$B/rootfs/tmp/ready"
  # The container's user owns its cwd, root is not refused either: both exec.
  [ "$(cat "$B/rootfs/tmp/pwd")" = /root ]
  run -0 R exec --user 0 "$ID" true
  run -0 R exec --user 0 "$ID" pwd
  [ "$output" = /root ]
  run -0 R exec "$ID" sh -c 'pwd; id -u'
  [ "${lines[0]}" = /root ]
  [ "${lines[1]}" = 42 ]
}

@test "setup: exec --user 0 into a container whose cwd only its user may enter (Dune mode)" {
  cwd_exec_user_zero dune
}

@test "setup: exec --user 0 into a container whose cwd only its user may enter (native)" {
  cwd_exec_user_zero native
}

@test "setup: a cwd only root may enter is entered before the switch to the container's user" {
  mkdir -p "$B/rootfs/home/nonroot"
  chmod 700 "$B/rootfs/home/nonroot"
  bundle_jq "$B" '.process.cwd = "/home/nonroot" | .process.user.uid = 42'
  in_ctr sh -c 'pwd; id -u; ls /tmp >/dev/null && echo ls-ok'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = /home/nonroot ]
  [ "${lines[1]}" = 42 ]
  [ "${lines[2]}" = ls-ok ]
}

@test "setup: a cwd that is not a directory fails create and leaves nothing" {
  bundle_jq "$B" '.process.cwd = "/etc/passwd"'
  run create_ctr "$ID"
  [ "$status" -ne 0 ]
  grep -qi "not a directory" "$T/$ID.err"
  assert_nothing_left "$ID" "$B"
}

@test "setup: run --no-pivot does not leave the host's full /proc reachable (native)" {
  # runc's no_pivot.bats: a user namespace made in the container may mount proc only where a
  # full proc mount is visible in its mount namespace; after MS_MOVE + chroot the old root's
  # /proc would be one. CAP_SETFCAP lets the container map its root (Linux 5.12+ asks for it).
  use_mode native
  bundle_jq "$B" '.process.capabilities |= with_entries(.value += ["CAP_SETFCAP"])'
  bundle_set_args "$B" unshare -mrpf sh -c 'mount -t proc none /proc && echo bare-proc-mounted'
  run --separate-stderr R run --no-pivot --bundle "$B" "$ID" </dev/null
  echo "status $status stdout $output stderr $stderr"
  [ "$status" -eq 1 ]
  [[ $stderr == *"mount: permission denied"* ]]
  [[ $output != *bare-proc-mounted* ]]
  # The container itself is whole.
  bundle_set_args "$B" sh -c 'grep -c " /proc " /proc/self/mountinfo; ls /proc/self/status'
  run -0 R run --no-pivot --bundle "$B" "$ID" </dev/null
  [ "${lines[1]}" = /proc/self/status ]
}

rro_mount() {
  use_mode "$1"
  mkdir -p "$T/src/sub"
  mount -t tmpfs e2e-rro "$T/src/sub"
  bundle_jq "$B" --arg s "$T/src" '.mounts += [{destination: "/mnt", type: "bind", source: $s, options: ["rbind", "rro", "rnoexec"]}]'
  in_ctr sh -c 'touch /mnt/a 2>&1; touch /mnt/sub/b 2>&1; awk "\$5 ~ /^\/mnt/ {print \$5, \$6}" /proc/self/mountinfo'
  umount "$T/src/sub"
  [ "$status" -eq 0 ]
  [[ ${lines[0]} == *"Read-only file system"* ]]
  [[ ${lines[1]} == *"Read-only file system"* ]]
  [[ ${lines[2]} == "/mnt ro,noexec,"* ]]
  [[ ${lines[3]} == "/mnt/sub ro,noexec,"* ]]
}

@test "setup: rbind,rro,rnoexec apply to the mount and every mount below it (Dune mode)" {
  rro_mount dune
}

@test "setup: rbind,rro,rnoexec apply to the mount and every mount below it (native)" {
  rro_mount native
}

@test "setup: rrw makes read-only submounts writable; plain ro stays non-recursive" {
  mkdir -p "$T/src/sub" "$T/src/rosub"
  mount -t tmpfs e2e-rro "$T/src/sub"
  mount -t tmpfs e2e-rro "$T/src/rosub"
  mount -o remount,bind,ro "$T/src/rosub"
  bundle_jq "$B" --arg s "$T/src" '.mounts += [{destination: "/mnt", type: "bind", source: $s, options: ["rbind", "ro"]},
      {destination: "/mnt2", type: "bind", source: $s, options: ["rbind", "rrw"]}]'
  in_ctr sh -c 'touch /mnt/a 2>&1 || true; touch /mnt/sub/b && echo sub-writable; touch /mnt2/rosub/c && echo rrw-writable'
  umount "$T/src/sub" "$T/src/rosub"
  [ "$status" -eq 0 ]
  [[ ${lines[0]} == *"Read-only file system"* ]]
  [ "${lines[1]}" = sub-writable ]
  [ "${lines[2]}" = rrw-writable ]
}

hook_script() {
  cat >"$T/hook-out.sh" <<'H'
#!/bin/sh
echo "to-stdout-$1"
echo "to-stderr-$1" >&2
exit 3
H
  chmod 755 "$T/hook-out.sh"
  mkdir -p "$B/rootfs$T"
  cp "$T/hook-out.sh" "$B/rootfs$T/hook-out.sh"
}

@test "hooks: a failing hook fails run with runc's 'error running ... hook #N' and what it wrote" {
  hook_script
  bundle_set_args "$B" echo container-ran
  for kind in prestart createRuntime createContainer startContainer; do
    bundle_jq "$B" --arg k "$kind" --arg h "$T/hook-out.sh" '.hooks = {($k): [{path: "/bin/true"}, {path: $h, args: ["hook", $k]}]}'
    run --separate-stderr R run --bundle "$B" "$ID-$kind" </dev/null
    echo "$kind: status $status stdout $output stderr $stderr"
    [ "$status" -ne 0 ]
    [[ $output != *container-ran* ]]
    # The runtime's error (stderr, or the --log file where runc puts it).
    said="$stderr $(cat "$LOG")"
    # runc 1.1: "error running hook #1:"; runc's current tests and dune name the kind:
    # "error running createRuntime hook #1:".
    [[ $said == *"error running "*"hook #1:"* ]]
    [[ $said == *"to-stdout-$kind"* ]]
    [[ $said == *"to-stderr-$kind"* ]]
    assert_nothing_left "$ID-$kind" "$B"
  done
}

@test "hooks: runtime hooks run in the runtime's mount namespace, container hooks in the container's" {
  mkdir -p "$T/hooks" "$B/rootfs$T/hooks"
  bundle_jq "$B" --arg t "$T" '
      def hook(n): {path: "/bin/sh", args: ["sh", "-c", "echo " + n + " $(readlink /proc/self/ns/mnt) >> " + $t + "/hooks/ns"]};
      .hooks = {prestart: [hook("prestart")], createRuntime: [hook("createRuntime")],
                createContainer: [hook("createContainer")], startContainer: [hook("startContainer")],
                poststart: [hook("poststart")], poststop: [hook("poststop")]}
      | .mounts += [{destination: ($t + "/hooks"), type: "bind", source: ($t + "/hooks"), options: ["rbind", "rw"]}]'
  bundle_set_args "$B" sh -c 'echo ready > /tmp/ready; sleep 1000'
  create_ctr "$ID"
  ctr_ns=$(readlink /proc/"$(pid_of "$ID")"/ns/mnt)
  R start "$ID"
  wait_file "$B/rootfs/tmp/ready"
  R delete --force "$ID"
  cat "$T/hooks/ns"
  host_ns=$(readlink /proc/self/ns/mnt)
  [ "$ctr_ns" != "$host_ns" ]
  for k in prestart createRuntime poststart poststop; do grep -Fqx "$k $host_ns" "$T/hooks/ns"; done
  for k in createContainer startContainer; do grep -Fqx "$k $ctr_ns" "$T/hooks/ns"; done
}

userns_inaccessible_mount() {
  use_mode "$1"
  chown -R 100000:100000 "$B/rootfs"
  mkdir -p "$T/private/dir"
  echo secret >"$T/private/dir/foo.txt"
  chmod 700 "$T/private"
  bundle_jq "$B" --arg s "$T/private/dir" '.linux.namespaces += [{type: "user"}]
      | .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
      | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
      | .mounts += [{destination: "/tmp/mount", type: "bind", source: $s, options: ["bind"]}]'
  # The mapped root cannot reach the source on the host.
  run setpriv --reuid 100000 --regid 100000 --clear-groups ls "$T/private/dir"
  [ "$status" -ne 0 ]
  bundle_set_args "$B" sh -c 'cat /tmp/mount/foo.txt > /tmp/seen; sleep 1000'
  create_ctr "$ID"
  R start "$ID"
  wait_file "$B/rootfs/tmp/seen"
  [ "$(cat "$B/rootfs/tmp/seen")" = secret ]
  run -0 R exec "$ID" cat /tmp/mount/foo.txt
  [ "$output" = secret ]
}

@test "setup: user namespace with a bind source the mapped root cannot reach, and exec (Dune mode)" {
  userns_inaccessible_mount dune
}

@test "setup: user namespace with a bind source the mapped root cannot reach, and exec (native)" {
  userns_inaccessible_mount native
}

@test "setup: a linux.devices FIFO (type p) is made with its mode" {
  bundle_jq "$B" '.linux.devices = [{path: "/dev/e2e-fifo", type: "p", fileMode: 420, uid: 0, gid: 0}]
      | .linux.resources.devices = [{allow: false, access: "rwm"}]'
  in_ctr sh -c 'stat -c "%F %a" /dev/e2e-fifo'
  [ "$status" -eq 0 ]
  [ "$output" = "fifo 644" ]
}

no_mount_ns() {
  bundle_jq "$B" --arg t "$T" '.linux.namespaces |= map(select(.type != "mount"))
      | .linux.maskedPaths = [] | .linux.readonlyPaths = []
      | .hooks = {createRuntime: [{path: "/bin/sh", args: ["sh", "-c", "echo x >> " + $t + "/createRuntime.log"]}]}'
}

# runc 1.1.5 runs the createRuntime hook twice here (its host-mntns.bats checks once).
@test "[spec-strict] setup: a config without a mount namespace runs in the rootfs, createRuntime once (runc's host-mntns.bats)" {
  no_mount_ns
  in_ctr sh -c 'ls /; readlink /proc/1/ns/mnt'
  [ "$status" -eq 0 ]
  printf '%s\n' "${lines[@]}" | grep -qx bin
  # The caller's mount namespace.
  [ "${lines[-1]}" = "$(readlink /proc/self/ns/mnt)" ]
  [ "$(wc -l <"$T/createRuntime.log")" -eq 1 ]
}

@test "[dune-contract] setup: without a mount namespace exec enters the rootfs too, delete unmounts it" {
  no_mount_ns
  bundle_set_args "$B" sh -c 'echo ready > /tmp/ready; sleep 1000'
  create_ctr "$ID"
  R start "$ID"
  wait_file "$B/rootfs/tmp/ready"
  run -0 R exec "$ID" cat /tmp/ready
  [ "$output" = ready ]
  R delete --force "$ID"
  assert_nothing_left "$ID" "$B"
}

@test "setup: maskedPaths without a mount namespace are refused (they would change the host)" {
  bundle_jq "$B" '.linux.namespaces |= map(select(.type != "mount"))'
  run create_ctr "$ID"
  [ "$status" -ne 0 ]
  assert_nothing_left "$ID" "$B"
}

@test "[spec-strict] setup: rootfsPropagation shared makes the container's root shared (runc's mounts_propagation.bats)" {
  bundle_jq "$B" '.linux.rootfsPropagation = "shared"'
  in_ctr sh -c 'awk "\$5 == \"/\"" /proc/self/mountinfo'
  [ "$status" -eq 0 ]
  [[ $output == *" shared:"* ]]
  # Nothing of it propagated back to the host.
  assert_nothing_left "$ID" "$B"
}

ro_dev() {
  use_mode "$1"
  bundle_jq "$B" '(.mounts[] | select(.destination == "/dev") | .options) += ["ro"]'
  in_ctr sh -c 'awk "\$5 == \"/dev\" || \$5 == \"/dev/pts\" {print \$5, \$6}" /proc/self/mountinfo; touch /dev/x 2>&1; echo ok > /dev/null && echo null-ok'
  [ "$status" -eq 0 ]
  [[ ${lines[0]} == "/dev ro,"* ]]
  [[ ${lines[1]} == "/dev/pts rw,"* ]]
  [[ ${lines[2]} == *"Read-only file system"* ]]
  [ "${lines[3]}" = null-ok ]
}

@test "setup: a read-only /dev still gets /dev/pts and the devices (Dune mode)" {
  ro_dev dune
}

@test "setup: a read-only /dev still gets /dev/pts and the devices (native)" {
  ro_dev native
}

tty_owner() {
  use_mode "$1"
  bundle_jq "$B" --argjson u "$2" '.process.terminal = true | .process.user.uid = $u | .process.user.gid = 100'
  bundle_set_args "$B" sh -c 'stat -c %u:%g $(tty) > /tmp/owner; sleep 1000'
  "$RECVTTY" "$T/tty.sock" "$T/tty.out" 3>&- &
  BG_PIDS+=($!)
  for _ in $(seq 100); do [ -S "$T/tty.sock" ] && break; sleep 0.02; done
  create_ctr "$ID" --console-socket "$T/tty.sock"
  R start "$ID"
  wait_file "$B/rootfs/tmp/owner"
  # The user's, the group "tty" (gid=5 in the default config's devpts options).
  [ "$(cat "$B/rootfs/tmp/owner")" = "$2:5" ]
}

@test "setup: the console of a uid 1000 container is owned by 1000, group tty (Dune mode)" {
  tty_owner dune 1000
}

@test "setup: the console of a uid 1000 container is owned by 1000, group tty (native)" {
  tty_owner native 1000
}

@test "setup: the console of a root container is owned by 0, group tty" {
  tty_owner dune 0
}

@test "setup: exec --tty --user 1000 gets a console owned by 1000, group tty (runc's exec [tty owner])" {
  start_ctr
  "$RECVTTY" "$T/tty.sock" "$T/tty.out" 3>&- &
  BG_PIDS+=($!)
  for _ in $(seq 100); do [ -S "$T/tty.sock" ] && break; sleep 0.02; done
  R exec --tty --console-socket "$T/tty.sock" --detach --user 1000:100 "$ID" \
      sh -c 'stat -c %u:%g $(tty) > /tmp/exec-owner' </dev/null
  wait_file "$B/rootfs/tmp/exec-owner"
  [ "$(cat "$B/rootfs/tmp/exec-owner")" = 1000:5 ]
}

# ---------------------------------------------------------------- runc 1.1's command-line contract

@test "list: table columns aligned as runc's tabwriter; annotations come before owner in json" {
  bundle_jq "$B" '.annotations = {"org.e2e.list": "yes"}'
  create_ctr "$ID"
  run R list
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 2 ]
  # Each column starts where its header does, at least 12 columns after the previous one.
  local header=${lines[0]} row=${lines[1]} col prev=0 at
  for col in PID STATUS BUNDLE CREATED OWNER; do
    at=${header%%"$col"*}
    at=${#at}
    (( at - prev >= 12 ))
    [ "${row:at-1:1}" = " " ]
    [ "${row:at:1}" != " " ]
    prev=$at
  done
  [ "$(echo "$row" | awk '{print $1, $3, $4, $6}')" = "$ID created $B root" ]
  run R list --format json
  echo "$output" | jq -e '.[0] | keys_unsorted == ["ociVersion","id","pid","status","bundle","rootfs","created","annotations","owner"]'
  echo "$output" | jq -e '.[0].annotations["org.e2e.list"] == "yes"'
}

@test "run --keep: the stopped container stays until delete" {
  bundle_set_args "$B" sh -c 'exit 3'
  run R run --keep --bundle "$B" "$ID" </dev/null
  [ "$status" -eq 3 ]
  [ "$(status_of "$ID")" = stopped ]
  run R list -q
  [ "$output" = "$ID" ]
  R delete "$ID"
  run R state "$ID"
  [ "$status" -ne 0 ]
  assert_nothing_left "$ID" "$B"
  # Without --keep the container is gone when run returns.
  run R run --bundle "$B" "$ID" </dev/null
  [ "$status" -eq 3 ]
  run R list -q
  [ -z "$output" ]
}

@test "run --no-subreaper and global --criu are accepted" {
  bundle_set_args "$B" true
  run "$DUNE" --root "$ROOT" --criu /usr/sbin/criu run --no-subreaper --bundle "$B" "$ID" </dev/null 3>&-
  [ "$status" -eq 0 ]
  run "$DUNE" --root "$ROOT" --criu=/usr/sbin/criu list -q
  [ "$status" -eq 0 ]
}

@test "--debug without --log: text debug lines on stderr, none on stdout" {
  bundle_set_args "$B" echo out
  run --separate-stderr "$DUNE" --root "$ROOT" --debug run --bundle "$B" "$ID" </dev/null 3>&-
  [ "$status" -eq 0 ]
  [ "$output" = out ]
  [[ $stderr == *level=debug* ]]
  printf '%s\n' "${stderr_lines[@]}" | grep -Eq '^time="[^"]+" level=debug msg=".+"$'
}

@test "--debug --log-format json without --log: JSON debug objects on stderr" {
  bundle_set_args "$B" true
  run --separate-stderr "$DUNE" --root "$ROOT" --debug --log-format json run --bundle "$B" "$ID" </dev/null 3>&-
  [ "$status" -eq 0 ]
  local n
  n=$(printf '%s\n' "${stderr_lines[@]}" | jq -c 'select(.level == "debug" and (.msg | type == "string") and (.time | type == "string"))' | wc -l)
  [ "$n" -ge 1 ]
}

@test "--debug --log FILE: debug lines go to the file in its format, not to stderr" {
  bundle_set_args "$B" true
  run --separate-stderr "$DUNE" --root "$ROOT" --debug --log "$T/text.log" run --bundle "$B" "$ID" </dev/null 3>&-
  [ "$status" -eq 0 ]
  [[ $stderr != *level=debug* ]]
  grep -Eq '^time="[^"]+" level=debug msg=".+"$' "$T/text.log"
  run --separate-stderr "$DUNE" --root "$ROOT" --debug --log "$T/json.log" --log-format json run --bundle "$B" "$ID" </dev/null 3>&-
  [ "$status" -eq 0 ]
  [[ $stderr != *level=debug* && $stderr != *'"level":"debug"'* ]]
  jq -e -s 'map(select(.level == "debug")) | length >= 1' "$T/json.log"
}

@test "COMMAND -h, COMMAND --help and help COMMAND print that command's name, usage and flags, exit 0" {
  local name cmd h
  name=$(basename "$DUNE")
  declare -A flags=(
    [create]="--bundle --pid-file --console-socket --no-pivot --no-new-keyring --preserve-fds"
    [run]="--bundle --detach --keep --pid-file --no-subreaper --console-socket"
    [exec]="--process --detach --pid-file --tty --env --cwd --user --cgroup --ignore-paused --preserve-fds"
    [list]="--format --quiet" [delete]="--force" [kill]="--all" [ps]="--format"
    [events]="--interval --stats" [spec]="--bundle --rootless"
    [update]="--resources --memory --pids-limit --l3-cache-schema --mem-bw-schema"
    [start]="" [state]="" [pause]="" [resume]="" [features]=""
  )
  for cmd in "${!flags[@]}"; do
    for h in "$cmd -h" "$cmd --help" "help $cmd"; do
      # shellcheck disable=SC2086
      run R $h
      echo "$h: status $status"
      [ "$status" -eq 0 ]
      # runc's layout, which runc's own help tests read: "NAME:", then "   runc COMMAND - ...".
      [ "${lines[0]}" = "NAME:" ]
      [[ ${lines[1]} =~ ^\ +$name\ $cmd\ -\  ]] || { echo "$h: line 2 is not '$name $cmd - ...': ${lines[1]}"; false; }
      [[ $output == *"$name $cmd "* ]]
      for f in ${flags[$cmd]}; do
        [[ $output == *"$f"* ]] || { echo "$h: lacks $f"; false; }
      done
    done
  done
}

@test "an unknown command, its -h and help of it: No help topic, exit status 3" {
  for c in "no-such-cmd" "no-such-cmd -h" "help no-such-cmd"; do
    # shellcheck disable=SC2086
    run --separate-stderr R $c
    echo "$c: status $status, stderr $stderr"
    [ "$status" -eq 3 ]
    [[ $stderr == *"No help topic for 'no-such-cmd'"* ]]
    jq -e -s 'map(select(.level == "error")) | last | .msg | contains("No help topic for '"'"'no-such-cmd'"'"'")' "$LOG"
  done
}

@test "exec --ignore-paused: the process starts once the container is resumed" {
  start_ctr
  R pause "$ID"
  R exec --ignore-paused "$ID" sh -c 'echo ran > /tmp/ignored' </dev/null >"$T/exec.out" 2>&1 &
  BG_PIDS+=("$!")
  local execpid=$!
  sleep 1
  # Frozen with the container: it has not run yet.
  [ ! -e "$B/rootfs/tmp/ignored" ]
  R resume "$ID"
  wait "$execpid"
  wait_file "$B/rootfs/tmp/ignored"
  [ "$(cat "$B/rootfs/tmp/ignored")" = ran ]
}

@test "exec --cgroup PATH and CONTROLLER:PATH run the process in an existing sub-cgroup; bad values fail" {
  bundle_jq "$B" --arg id "$ID" '.linux.cgroupsPath = "/dune-e2e/" + $id'
  start_ctr
  local mem pid p
  mem=$(find /sys/fs/cgroup/memory/dune-e2e -maxdepth 1 -type d -name "$ID")
  [ -n "$mem" ]
  mkdir "$mem/sub"
  R exec --detach --pid-file "$T/sub.pid" --cgroup memory:sub "$ID" sleep 30
  pid=$(cat "$T/sub.pid")
  grep -E "^[0-9]+:memory:/dune-e2e/$ID/sub\$" "/proc/$pid/cgroup"
  # The hierarchies it did not name: the container's own cgroup.
  grep -E "^[0-9]+:pids:/dune-e2e/$ID\$" "/proc/$pid/cgroup"
  # The --cgroup=V form too.
  R exec --detach --pid-file "$T/sub2.pid" --cgroup=memory:sub "$ID" sleep 30
  grep -E "^[0-9]+:memory:/dune-e2e/$ID/sub\$" "/proc/$(cat "$T/sub2.pid")/cgroup"
  # A bare path: the sub-cgroup of every hierarchy (cpuset's needs its cpus and mems first).
  local d cpuset
  for d in $(cgroup_dirs "$ID"); do [ -d "$d/sub" ] || mkdir "$d/sub"; done
  cpuset=$(find /sys/fs/cgroup/cpuset/dune-e2e -maxdepth 1 -type d -name "$ID")
  cat "$cpuset/cpuset.cpus" >"$cpuset/sub/cpuset.cpus"
  cat "$cpuset/cpuset.mems" >"$cpuset/sub/cpuset.mems"
  R exec --detach --pid-file "$T/sub3.pid" --cgroup sub "$ID" sleep 30
  cat "/proc/$(cat "$T/sub3.pid")/cgroup"
  [ -z "$(grep -v ":/dune-e2e/$ID/sub\$" "/proc/$(cat "$T/sub3.pid")/cgroup")" ]
  for bad in memory:no-such-sub no-such-controller:sub memory:../.. ; do
    run --separate-stderr R exec --cgroup "$bad" "$ID" true
    echo "--cgroup $bad: status $status, stderr $stderr"
    [ "$status" -ne 0 ]
  done
  run --separate-stderr R exec --cgroup a --cgroup b "$ID" true
  [ "$status" -ne 0 ]
  [[ $stderr == *"missing <controller>: prefix"* ]]
  for p in "$pid" "$(cat "$T/sub2.pid")" "$(cat "$T/sub3.pid")"; do
    kill -KILL "$p"
    wait_gone "$p"
  done
  for d in $(cgroup_dirs "$ID"); do rmdir "$d/sub"; done
}

@test "every flag of runc's commands and global options is in the same command's help" {
  command -v runc >/dev/null || { echo "FATAL: Debian's runc is needed as the reference (make deps)" >&2; false; }
  local cmd f missing=
  # checkpoint and restore take any flag and fail (no CRIU): not compared.
  for cmd in "" create run start state list kill delete exec ps pause resume update events spec features; do
    # shellcheck disable=SC2086
    for f in $(runc $cmd --help | sed -n '/OPTIONS:/,$p' | grep -oE -- '(^|[ ,])--?[a-z0-9][a-z0-9-]*' | tr -d ' ,'); do
      # shellcheck disable=SC2086
      "$DUNE" $cmd --help | grep -qE -- "(^|[ ,])$f([ ,=<]|$)" || missing="$missing ${cmd:-global}:$f"
    done
  done
  [ -z "$missing" ] || { echo "flags of runc missing from $DUNE:$missing"; false; }
}

@test "[dune-wording] checkpoint, restore and update's Intel RDT flags fail with a clear message" {
  start_ctr
  for c in "checkpoint --image-path $T/img --leave-running $ID" "restore --image-path $T/img --bundle $B $ID-r"; do
    # shellcheck disable=SC2086
    run --separate-stderr R $c
    echo "$c: status $status, stderr $stderr"
    [ "$status" -ne 0 ]
    [[ $stderr == *"${c%% *} is not supported"*CRIU* ]]
  done
  for f in --l3-cache-schema --mem-bw-schema; do
    run --separate-stderr R update "$f" "L3:0=ff" "$ID"
    [ "$status" -ne 0 ]
    [[ $stderr == *"$f: Intel RDT"*"not supported"* ]]
  done
  # The container was not touched.
  [ "$(status_of "$ID")" = running ]
  run R list -q
  [ "$output" = "$ID" ]
}
