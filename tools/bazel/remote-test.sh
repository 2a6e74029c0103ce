#!/usr/bin/env bash
# The remote-execution step of CI (tools/test.sh; docs/remote.md): the VM
# tests on a real REAPI engine, a loopback Buildbarn whose worker runs each
# action as nobody in a namespace that hides ~, the source trees and /tmp
# (tools/bazel/buildbarn.sh), so a test that reads an undeclared file fails.
#   1. start Buildbarn, worker platform OSFamily=linux,kvm=tcg;
#   2. bazel test --config=remote //tests:all, every test executed by the
#      worker, checked in Bazel's execution log. KTSTR_REMOTE_RUN, a value
#      new to each run, is in the test actions' environment: their keys are
#      new, so they run on the worker although an earlier run on this
#      machine left results for the same inputs in the (persistent) remote
#      cache; builds are served from it. (--nocache_test_results would
#      force the runs too, but Bazel then keeps the results out of the
#      remote cache, and step 4 would have nothing to hit.)
#   3. //tests:smoke_kvm_hw (needs kvm=hw) must not be scheduled: Buildbarn
#      refuses it, and the reason is shown; a probe test that reads the
#      kernel cache and the source tree passes locally and fails remotely;
#   4. the same bazel test from a copy of the workspace at another path,
#      with an output base of its own: every test a remote cache hit (the
#      test keys depend on neither the checkout path nor the output base,
#      so other machines and CI jobs reuse the results; and no record of
#      an earlier failure in this workspace can stop a result's upload);
#   5. the fault test (remote-fault-test.sh): the worker killed mid-test;
#   6. stop Buildbarn (also on failure): no process, no state left.
# Holds the VM lock around everything that boots VMs.
# Usage: tools/bazel/remote-test.sh [--ci] [extra bazel flags...]
# KTSTR_REMOTE_TARGETS (default //tests:all) narrows steps 2 and 4, e.g. to
# keep CI within its time on a slow machine (say so where you set it).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
ci=()
if [[ ${1:-} == --ci || -n ${CI:-} ]]; then
  ci=(--config=ci)
  [[ ${1:-} == --ci ]] && shift
fi
cfg=(--config=remote "${ci[@]}")
read -r -a targets <<<"${KTSTR_REMOTE_TARGETS:-//tests:all}"
out=$root/.cache/remote
mkdir -p "$out"
start=$SECONDS
step() { printf '\n=== remote: %s (t+%ds)\n' "$*" $((SECONDS - start)); }
bb() { bash tools/bazel/buildbarn.sh "$@"; }
# -o: the command does not inherit the lock's descriptor, so a Bazel
# server that the command starts cannot keep the lock after it ends.
vm() { flock -o /tmp/ktstr-vm.lock "$@"; }
execlog() { CGO_ENABLED=0 go run ./tools/execlog "$@"; }
# --config=ci (CI set) prefixes Bazel's lines with a timestamp: "(20:17:29) INFO: ...".
processes() { grep -E '^(\([0-9:]+\) )?INFO: [0-9]+ processes' "$1" | tail -n 1 || echo "(no process summary in $1)"; }

trap 'bb stop' EXIT
step "start the loopback Buildbarn"
bb build
bb start OSFamily=linux,kvm=tcg

step "bazel test --config=remote ${targets[*]} (every test executed by the worker)"
run=(--test_env=KTSTR_REMOTE_RUN="$(date +%s)-$$")
vm bazel test "${cfg[@]}" "${run[@]}" --execution_log_json_file="$out/run1.json" "$@" -- "${targets[@]}" 2>&1 |
  tee "$out/run1.log"
processes "$out/run1.log"
execlog -tests executed "$out/run1.json"

step "//tests:smoke_kvm_hw needs kvm=hw: not scheduled on the kvm=tcg worker"
if bazel test "${cfg[@]}" "$@" -- //tests:smoke_kvm_hw >"$out/kvm_hw.log" 2>&1; then
  echo "remote: //tests:smoke_kvm_hw passed on a worker that has no hardware KVM" >&2
  exit 1
fi
if ! grep -m1 -o 'No workers exist[^)]*' "$out/kvm_hw.log" | grep -q 'hw'; then
  echo "remote: //tests:smoke_kvm_hw failed, but not because no kvm=hw worker exists:" >&2
  tail -n 20 "$out/kvm_hw.log" >&2
  exit 1
fi
echo "refused as expected: $(grep -m1 -o 'UNAVAILABLE: No workers exist.*' "$out/kvm_hw.log")"

step "a test that reads undeclared files passes locally and fails on the worker"
# The probe reads the kernel cache and the source tree: files that exist
# and that a local test can read, but that no test declares.
probe=(--test_env=KTSTR_PROBE="${KTSTR_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ktstr/kernels}/index.json $root/go.mod")
bazel test "${ci[@]}" "${probe[@]}" --nocache_test_results "$@" -- //tools/bazel/hermetic:undeclared_test >"$out/probe-local.log" 2>&1 || {
  tail -n 20 "$out/probe-local.log" >&2
  echo "remote: the probe test fails even locally: it proves nothing about the worker" >&2
  exit 1
}
echo "locally: passed (it read ${probe[0]#*=})"
if bazel test "${cfg[@]}" "${probe[@]}" --nocache_test_results "$@" -- //tools/bazel/hermetic:undeclared_test >"$out/probe-remote.log" 2>&1; then
  echo "remote: a test read undeclared files on the worker: the worker is not hermetic" >&2
  exit 1
fi
why=$(grep -m1 -E 'No such file|Permission denied' bazel-testlogs/tools/bazel/hermetic/undeclared_test/test.log || true)
if [[ -z $why ]]; then
  echo "remote: the probe test failed on the worker, but not for want of the undeclared files:" >&2
  tail -n 20 "$out/probe-remote.log" >&2
  exit 1
fi
echo "on the worker: failed, as it must: $why"

step "the same bazel test from another checkout path and output base: served from the remote cache"
# What another machine or CI job has: the working tree (edits included),
# nothing of this workspace's output base, a different path.
other=$(mktemp -d /tmp/ktstr-remote-other.XXXXXX)
drop_other() {
  [[ -d $other/src ]] && (cd "$other/src" && bazel --output_base="$other/base" shutdown >/dev/null 2>&1) || true
  chmod -R u+w "$other" 2>/dev/null || true
  rm -rf "$other"
}
trap 'drop_other; bb stop' EXIT
mkdir "$other/src"
tar -C "$root" --exclude=./.git --exclude=./.cache --exclude='./bazel-*' -cf - . | tar -C "$other/src" -xf -
(cd "$other/src" && vm bazel --output_base="$other/base" test "${cfg[@]}" "${run[@]}" \
  --execution_log_json_file="$out/run2.json" "$@" -- "${targets[@]}") 2>&1 | tee "$out/run2.log"
processes "$out/run2.log"
execlog -tests cached "$out/run2.json"
drop_other
trap 'bb stop' EXIT

step "fault test: the worker killed in the middle of a test"
vm bash tools/bazel/remote-fault-test.sh "${cfg[@]}" "$@"

step "stop Buildbarn"
bb stop
trap - EXIT
if [[ -e ${KTSTR_BB_ROOT:-/tmp/ktstr-buildbarn} ]] || pgrep -f "${KTSTR_BB_ROOT:-/tmp/ktstr-buildbarn}" >/dev/null; then
  echo "remote: Buildbarn left state or processes behind" >&2
  exit 1
fi
if [[ -e $other ]]; then
  echo "remote: the second checkout $other was left behind" >&2
  exit 1
fi
step "done"
