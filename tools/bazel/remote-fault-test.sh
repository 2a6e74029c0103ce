#!/usr/bin/env bash
# Fault test of remote execution: the worker (bb_worker and its runner, as
# when a worker host dies) is SIGKILLed while it runs a VM test. Passes when
#   - no process of the action (test binary, qemu) survives the kill, and
#   - Bazel does not report the killed run as a pass: it either fails with
#     a clear error, or the test is retried from scratch on the restarted
#     worker (a second VM is seen) and that run's verdict is reported.
# Needs a running tools/bazel/buildbarn.sh; run it under the VM lock.
# Usage: tools/bazel/remote-fault-test.sh [bazel flags...]   (e.g. --config=remote)
# KTSTR_FAULT_TARGET (default //tests:smoke_default) and KTSTR_FAULT_PROCESS
# (default qemu-system: what marks the test as running) swap the VM test for
# another long-running one.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
target=${KTSTR_FAULT_TARGET:-//tests:smoke_default}
marker=${KTSTR_FAULT_PROCESS:-qemu-system}
out=$root/.cache/remote
mkdir -p "$out"
bb() { bash tools/bazel/buildbarn.sh "$@"; }
fail() { echo "fault test: FAIL: $*" >&2; exit 1; }

# The PIDs of VMs the worker runs (qemu started by an action).
vms() { bb pids | grep -- "$marker" || true; }

wait_vm() { # TIMEOUT_S
  local i
  for ((i = 0; i < $1 * 10; i++)); do
    [[ -n $(vms) ]] && return 0
    kill -0 "$bazel_pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# --nocache_test_results: the test must run, not come from the cache.
bazel test "$@" --nocache_test_results -- "$target" >"$out/fault.log" 2>&1 &
bazel_pid=$!
trap 'kill "$bazel_pid" 2>/dev/null || true' EXIT

wait_vm 600 || fail "no VM of $target appeared on the worker; see $out/fault.log"
echo "fault test: the worker runs $target: $(vms | head -n 1 | cut -c1-100)"
bb kill-worker
echo "fault test: bb_worker and bb_runner SIGKILLed"
# The kernel reaps the namespace at once; give exiting processes 5 s.
for _ in $(seq 1 50); do
  left=$(bb pids)
  [[ -z $left ]] && break
  sleep 0.1
done
[[ -z $left ]] || fail "processes of the killed action are still running: $left"
echo "fault test: no process of the action is left (no VM, no test binary)"

bb start-worker
echo "fault test: worker restarted with the same worker ID"
rerun=no
if wait_vm 300; then
  rerun=yes
  echo "fault test: the scheduler handed the test to the restarted worker again (a retry, from scratch)"
fi
rc=0
wait "$bazel_pid" || rc=$?
trap - EXIT
# Lines may carry --show_timestamps' prefix (--config=ci); a log without
# any of them is judged below, not here.
grep -m 8 -E '^(\([0-9:]+\) )?(//|INFO: [0-9]+ processes|ERROR|.*(UNAVAILABLE|disappeared|never completed))' "$out/fault.log" | cut -c1-300 || true
if [[ $rc == 0 ]]; then
  [[ $rerun == yes ]] || fail "bazel reported $target passed, but no VM ran after the kill: the killed run was taken as a pass"
  echo "fault test: PASS (retried on the restarted worker; that run passed)"
else
  grep -qE 'UNAVAILABLE|disappeared|never completed|FAILED|NO STATUS' "$out/fault.log" ||
    fail "bazel failed (exit $rc) without saying why; see $out/fault.log"
  echo "fault test: PASS (clear failure, exit $rc)"
fi
[[ -z $(bb pids) ]] || fail "processes of the action are left on the worker: $(bb pids)"
