#!/usr/bin/env bash
# Static checks of the Bazel files; exits non-zero with a diff on drift:
#   1. rules/go_deps.bzl matches go.mod/go.sum (tools/bazel/update-go-deps.sh)
#   2. gazelle would change no BUILD file  (fix: gazelle -repo_root .)
#   3. tests/gauntlet_variants.bzl matches the registered tests
#                                           (fix: go run ./tools/ktstr gauntlet --bzl > tests/gauntlet_variants.bzl)
#   4. buildifier formatting and lint       (fix: buildifier -mode=fix -r .)
# Usage: tools/bazel/check.sh   (tools/bazel/setup.sh provides the tools)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bash tools/bazel/setup.sh
PATH="$(bash tools/bazel/setup.sh --bin):$PATH"

rc=0
echo "bazel-check: go_deps.bzl vs go.mod" >&2
bash tools/bazel/update-go-deps.sh --check || rc=1

echo "bazel-check: gazelle" >&2
# gazelle prints a known, harmless warning for scheds' go:embed of a
# sub-package file (kept by hand in scheds/BUILD.bazel).
if ! gazelle -mode diff -repo_root . 2> >(grep -v 'pattern scxload/scxload.go: matched no files' >&2); then
  echo "bazel-check: BUILD files out of date: run \`gazelle -repo_root .\` (PATH from tools/bazel/setup.sh --env)" >&2
  rc=1
fi

echo "bazel-check: tests/gauntlet_variants.bzl vs the registered tests" >&2
if ! CGO_ENABLED=0 go run ./tools/ktstr gauntlet --bzl | diff -u tests/gauntlet_variants.bzl -; then
  echo "bazel-check: the gauntlet variants changed: run \`go run ./tools/ktstr gauntlet --bzl > tests/gauntlet_variants.bzl\`" >&2
  rc=1
fi

echo "bazel-check: buildifier" >&2
files=$(git ls-files --cached --others --exclude-standard -- 'WORKSPACE' 'WORKSPACE.bzlmod' 'MODULE.bazel' '*.bazel' '*.bzl' 'BUILD')
# shellcheck disable=SC2086
if ! buildifier -mode=check -lint=warn $files; then
  echo "bazel-check: run \`buildifier -mode=fix -lint=fix -r .\`" >&2
  rc=1
fi
exit $rc
