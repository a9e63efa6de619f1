#!/usr/bin/env bats
# Bad input and failures mid-setup. Each case must exit non-zero, report a precise message
# on stderr and as the last {"level":"error"} line of the --log JSON file, and leave no
# state dir, mount, cgroup or process behind.
#
# All tests are tagged [dune-wording]: they match the messages dune promises (see
# expected_messages). E2E_WORDING=runc switches to runc 1.1.5's wording so that the rest of
# each test (exit status, where the message appears, the leak checks) can be validated
# against the reference runtime.

load lib/helpers

setup_file() {
  e2e_require_env
}

setup() {
  common_setup
  MARK=e2emark-$ID
  make_bundle "$B" sh -c 'while :; do sleep 1; done' "$MARK" >/dev/null
  bundle_jq "$B" --arg id "$ID" '.linux.cgroupsPath = "/dune-e2e/" + $id'
}

teardown() {
  common_teardown
}

# expected_messages CASE [ARG...]: prints the substrings (one a line) the error must contain.
expected_messages() {
  local c=$1; shift
  if [[ $E2E_WORDING == runc ]]; then
    case $c in
      unknown) echo "container does not exist" ;;
      duplicate) echo "container with given ID already exists" ;;
      invalid-id) echo "invalid container ID format" ;;
      empty-id) echo "container id cannot be empty" ;;
      malformed) echo "invalid character" ;;
      wrong-type) echo "cannot unmarshal"; echo "process.${1#\$.process.}" ;;
      missing-rootfs) echo "invalid rootfs"; echo "$1"; echo "no such file or directory" ;;
      start-twice) echo "cannot start an already running container" ;;
      delete-running) echo "cannot delete container $1 that is not stopped: running" ;;
      hook) echo "error running hook"; echo "exit status 3" ;;
      crash) echo "error during container init" ;;
      pid-file-dir) echo "$1"; echo "no such file or directory" ;;
      exec-paused) echo "cannot exec in a paused container (use --ignore-paused to override)" ;;
    esac
  else
    case $c in
      unknown) echo "container \"$1\" does not exist" ;;
      duplicate) echo "container \"$1\" already exists" ;;
      invalid-id | empty-id) echo "invalid container id" ;;
      malformed) echo "config.json: invalid JSON" ;;
      wrong-type) echo "config.json: "; echo "$1" ;;
      missing-rootfs) echo "rootfs"; echo "$1"; echo "does not exist" ;;
      start-twice) echo "cannot start container \"$1\": it is running" ;;
      delete-running) echo "cannot delete container \"$1\": it is running" ;;
      hook) echo "hook"; echo "$1"; echo "exited with status" ;;
      crash) echo "dune-init"; echo "setup" ;;
      pid-file-dir) echo "--pid-file"; echo "$1"; echo "no such file or directory" ;;
      exec-paused) echo "cannot exec in a paused container (use --ignore-paused to override)" ;;
    esac
  fi
}

# assert_failed_with CASE [ARG...]: after `run --separate-stderr`, checks the exit status,
# stderr and the last error line of $LOG.
assert_failed_with() {
  local want last
  echo "exit status: $status"
  echo "stderr: $stderr"
  [ "$status" -ne 0 ]
  [ -s "$LOG" ] || { echo "no --log file written" >&2; return 1; }
  last=$(jq -r 'select(.level == "error") | .msg' "$LOG" | tail -n1)
  echo "last log error: $last"
  while IFS= read -r want; do
    [[ -n $want ]] || continue
    [[ $stderr == *"$want"* ]] || { echo "stderr lacks: $want" >&2; return 1; }
    [[ $last == *"$want"* ]] || { echo "log error line lacks: $want" >&2; return 1; }
  done < <(expected_messages "$@")
}

# fail_create [CREATE-FLAGS...]: create $ID from $B, expected to fail.
fail_create() {
  run --separate-stderr R create --bundle "$B" "$@" "$ID" </dev/null
}

@test "[dune-wording] malformed JSON" {
  echo '{"ociVersion": "1.0.2", process: {}}' >"$B/config.json"
  fail_create
  assert_failed_with malformed
  assert_nothing_left "$ID" "$B" "$MARK"
}

@test "[dune-wording] wrong field types are reported with their JSON path" {
  cp "$B/config.json" "$T/good.json"
  jq '.process.args = "sh"' "$T/good.json" >"$B/config.json"
  fail_create
  assert_failed_with wrong-type '$.process.args'
  jq '.process.terminal = "yes"' "$T/good.json" >"$B/config.json"
  fail_create
  assert_failed_with wrong-type '$.process.terminal'
  assert_nothing_left "$ID" "$B" "$MARK"
}

@test "[dune-wording] missing rootfs" {
  bundle_jq "$B" --arg r "$B/no-such-rootfs" '.root.path = $r'
  fail_create
  assert_failed_with missing-rootfs "$B/no-such-rootfs"
  assert_nothing_left "$ID" "$B" "$MARK"
}

@test "[dune-wording] invalid container ids: ../x, a/b, empty" {
  for bad in ../x a/b; do
    run --separate-stderr R create --bundle "$B" "$bad" </dev/null
    assert_failed_with invalid-id
  done
  run --separate-stderr R create --bundle "$B" "" </dev/null
  assert_failed_with empty-id
  # Every command that takes an id refuses it before it becomes a path.
  for cmd in state start "kill" delete pause resume ps "events --stats" "update --pids-limit 10"; do
    # shellcheck disable=SC2086
    run --separate-stderr R $cmd ../x
    echo "command: $cmd"
    assert_failed_with invalid-id
  done
  run --separate-stderr R exec ../x true
  assert_failed_with invalid-id
  # Nothing was created inside or next to --root.
  [ -z "$(find "$ROOT" -mindepth 1 2>/dev/null)" ]
  [ ! -e "$T/x" ]
  [ ! -e "$ROOT/a" ]
  [ -z "$(ps -eo args= | grep -F -- "$MARK" | grep -v grep)" ]
  [ -z "$(grep -F "$B" /proc/self/mountinfo)" ]
}

@test "[dune-wording] duplicate id leaves the first container intact" {
  R create --bundle "$B" "$ID" </dev/null >/dev/null 2>&1
  pid=$(pid_of "$ID")
  fail_create
  assert_failed_with duplicate "$ID"
  [ "$(status_of "$ID")" = created ]
  [ "$(pid_of "$ID")" = "$pid" ]
  kill -0 "$pid"
  R delete --force "$ID"
  wait_gone "$pid"
  assert_nothing_left "$ID" "$B" "$MARK"
}

@test "[dune-wording] unknown container, for every command that takes an id" {
  local nosuch=nosuch-$ID
  for cmd in state start "kill" delete pause resume ps "exec" "events --stats" "update --pids-limit 10"; do
    if [[ $cmd == exec ]]; then
      run --separate-stderr R exec "$nosuch" true
    else
      # shellcheck disable=SC2086
      run --separate-stderr R $cmd "$nosuch"
    fi
    echo "command: $cmd"
    assert_failed_with unknown "$nosuch"
  done
  [ -z "$(find "$ROOT" -mindepth 1 -name "*$nosuch*" 2>/dev/null)" ]
}

@test "[dune-wording] start twice" {
  R create --bundle "$B" "$ID" </dev/null >/dev/null 2>&1
  R start "$ID"
  wait_status "$ID" running
  run --separate-stderr R start "$ID"
  assert_failed_with start-twice "$ID"
  [ "$(status_of "$ID")" = running ]
  R delete --force "$ID"
  assert_nothing_left "$ID" "$B" "$MARK"
}

@test "[dune-wording] delete of a running container without --force" {
  R create --bundle "$B" "$ID" </dev/null >/dev/null 2>&1
  R start "$ID"
  wait_status "$ID" running
  pid=$(pid_of "$ID")
  run --separate-stderr R delete "$ID"
  assert_failed_with delete-running "$ID"
  # Refused, so nothing was torn down.
  [ "$(status_of "$ID")" = running ]
  kill -0 "$pid"
  [ -n "$(cgroup_dirs "$ID")" ]
  R delete --force "$ID"
  wait_gone "$pid"
  assert_nothing_left "$ID" "$B" "$MARK"
}

@test "[dune-wording] a failing createRuntime hook" {
  printf '#!/bin/sh\nexit 3\n' >"$T/failing-hook.sh"
  chmod 755 "$T/failing-hook.sh"
  bundle_jq "$B" --arg h "$T/failing-hook.sh" '.hooks = {createRuntime: [{path: $h}]}'
  fail_create
  assert_failed_with hook "$T/failing-hook.sh"
  assert_nothing_left "$ID" "$B" "$MARK"
}

@test "[dune-wording] a failing prestart hook" {
  printf '#!/bin/sh\nexit 3\n' >"$T/failing-prestart.sh"
  chmod 755 "$T/failing-prestart.sh"
  bundle_jq "$B" --arg h "$T/failing-prestart.sh" '.hooks = {prestart: [{path: $h}]}'
  fail_create
  assert_failed_with hook "$T/failing-prestart.sh"
  assert_nothing_left "$ID" "$B" "$MARK"
}

@test "[dune-wording] the container's init killed mid-setup (SIGKILL from a createRuntime hook)" {
  # The hook reads the state on its stdin and kills the pid it names: the runtime's setup
  # helper (dune-init; runc init for runc), in the middle of building the container.
  cat >"$T/crash-hook.sh" <<'H'
#!/bin/sh
pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
[ -n "$pid" ] && [ "$pid" -gt 1 ] || exit 0
echo "$pid" > "$(dirname "$0")/killed.pid"
kill -KILL "$pid"
H
  chmod 755 "$T/crash-hook.sh"
  bundle_jq "$B" --arg h "$T/crash-hook.sh" '.hooks = {createRuntime: [{path: $h}]}'
  fail_create
  # The hook really found and killed a process.
  [ -s "$T/killed.pid" ]
  wait_gone "$(cat "$T/killed.pid")"
  assert_failed_with crash
  assert_nothing_left "$ID" "$B" "$MARK"
}

@test "[dune-wording] a pid file into a missing directory fails create and leaves nothing" {
  fail_create --pid-file "$T/no-such-dir/init.pid"
  assert_failed_with pid-file-dir "$T/no-such-dir"
  [ ! -e "$T/no-such-dir" ]
  assert_nothing_left "$ID" "$B" "$MARK"
}

@test "[dune-wording] a pid file into a missing directory fails run and exec; exec exits 255 and its process is gone" {
  run --separate-stderr R run --detach --pid-file "$T/no-such-dir/init.pid" --bundle "$B" "$ID" </dev/null
  assert_failed_with pid-file-dir "$T/no-such-dir"
  assert_nothing_left "$ID" "$B" "$MARK"
  R run --detach --bundle "$B" "$ID" </dev/null >/dev/null 2>&1
  : >"$LOG"
  run --separate-stderr R exec --detach --pid-file "$T/no-such-dir/exec.pid" "$ID" sh -c "sleep 30; : exec-$MARK"
  assert_failed_with pid-file-dir "$T/no-such-dir"
  [ "$status" -eq 255 ]
  sleep 0.3
  [ -z "$(ps -eo args= | grep -F -- "exec-$MARK" | grep -v grep)" ]
}

@test "[dune-wording] exec into a paused container is refused with exit status 255" {
  R run --detach --bundle "$B" "$ID" </dev/null >/dev/null 2>&1
  R pause "$ID"
  run --separate-stderr R exec "$ID" true
  assert_failed_with exec-paused
  [ "$status" -eq 255 ]
  R resume "$ID"
}
