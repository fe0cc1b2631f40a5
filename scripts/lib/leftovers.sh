# shellcheck shell=bash
# Which test processes a run of the suite left behind. Sourced by scripts/test.
#
# Tests name their sandboxes, labs and tmux servers `zkpilot-test-<run>-<pid>-<n>`
# (tests/common's `test_name`), with `<run>` the ZKPILOT_TEST_RUN scripts/test exports, and every
# process they start carries the name in its arguments (a path or a socket name). Only this
# run's count, so another run of the suite on the same machine is not taken for a leak.

# Prints `pid args` of every process of run `$1` (digits).
leftover_test_processes() {
  local pid
  for pid in $(pgrep -f "zkpilot-test-$1-[0-9]+-[0-9]+"); do
    ps -o pid=,args= -p "$pid" || true
  done
}
