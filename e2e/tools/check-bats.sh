#!/usr/bin/env bash
# Rejects a bare `! cmd` line in the bats suites: bats runs tests with `set -e`, which
# ignores a command negated with `!`, so such a line can never fail its test unless it is
# the test's last command. Write `! cmd || false` (or `run` and check $status) instead.
# Prints "N passed, N failed" (one check per file).
cd "$(dirname "$0")/../.." || exit 2
passed=0 failed=0
for f in e2e/*.bats e2e/lib/*.bash e2e/vm/tests/*.bats; do
  # At the start of a line or of a command in a list or loop body.
  bad=$(grep -nE '(^|;|\bdo|\bthen|\belse|&&)\s*!\s' "$f" | grep -vE '\|\|\s*false\s*(;\s*done)?\s*$')
  if [[ -n $bad ]]; then
    echo "FAIL $f: a negated command that cannot fail its test:"
    echo "$bad" | sed 's/^/    /'
    failed=$((failed + 1))
  else
    echo "ok   $f"
    passed=$((passed + 1))
  fi
done
echo "$passed passed, $failed failed"
((failed == 0))
