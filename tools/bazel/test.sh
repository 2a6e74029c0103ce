#!/usr/bin/env bash
# The Bazel half of CI (called by tools/test.sh):
#   1. prepare gazelle + buildifier (tools/bazel/setup.sh, idempotent);
#      rules_go, gazelle and Go deps come through the Go module proxy
#      inside the WORKSPACE;
#   2. check.sh: go_deps.bzl, gazelle and buildifier in sync;
#   3. unit tests: every non-VM test target in -short mode (incl. the
#      Starlark analysis tests in //rules/tests);
#   4. VM tests: bazel test //tests:all (builds //:kernel once; it reuses
#      the kernel cache entry of `ktstr kernel build`/go test).
#      KTSTR_BAZEL_VM_TARGETS narrows them (tools/test.sh does, because
#      its remote step runs the whole //tests:all again on Buildbarn).
# Usage: tools/bazel/test.sh [--ci] [extra bazel flags...]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
cfg=()
if [[ ${1:-} == --ci || -n ${CI:-} ]]; then
  cfg=(--config=ci)
  [[ ${1:-} == --ci ]] && shift
fi
start=$SECONDS
step() { printf '\n=== bazel: %s (t+%ds)\n' "$*" $((SECONDS - start)); }

step "checks (go_deps.bzl, gazelle, buildifier)"
bash tools/bazel/check.sh

step "unit and analysis tests (-short)"
bazel test "${cfg[@]}" --build_tests_only --test_tag_filters=-vm --test_arg=-test.short "$@" -- //...

read -r -a vm_targets <<<"${KTSTR_BAZEL_VM_TARGETS:-//tests:all}"
step "VM tests: ${vm_targets[*]}"
# One VM at a time: on a 2-core host two emulated guests starve each
# other and the scheduler checks judge host noise instead of the guest.
bazel test "${cfg[@]}" --local_test_jobs=1 "$@" -- "${vm_targets[@]}"

step "done"
