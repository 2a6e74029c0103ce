#!/usr/bin/env bash
# Prepares the tools the Bazel build and its checks need, idempotently, into
# a per-user cache (no global installs):
#   gazelle     go install github.com/bazelbuild/bazel-gazelle/cmd/gazelle@GAZELLE_VERSION
#   buildifier  npm @bazel/buildifier@BUILDIFIER_VERSION
#   Buildbarn   the loopback REAPI engine of --config=remote, built from the
#               vendored snapshot (../shared/buildbarn) when there is one,
#               cached per snapshot hash (tools/bazel/buildbarn.sh build)
# Prints nothing when everything is present. rules_go itself is fetched by
# the WORKSPACE (rules/workspace.bzl) through `go mod download`.
# Usage: tools/bazel/setup.sh   then: source <(tools/bazel/setup.sh --env)
#        tools/bazel/setup.sh --bin   prints the tools' directory
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)

GAZELLE_VERSION=$(sed -n 's/^GAZELLE_VERSION = "\(.*\)"$/\1/p' "$root/rules/workspace.bzl")
BUILDIFIER_VERSION=8.2.1
cache=${KTSTR_BAZEL_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/ktstr/bazel-tools}
bin=$cache/bin

case ${1:-} in
--env) echo "export PATH=$bin:\$PATH"; exit 0 ;;
--bin) echo "$bin"; exit 0 ;;
esac

command -v bazel >/dev/null || { echo "setup: bazel not found: run tools/setup/install-deps.sh (installs bazel-bootstrap)" >&2; exit 1; }
command -v go >/dev/null || { echo "setup: go not found on PATH" >&2; exit 1; }
mkdir -p "$bin"

stamp=$bin/.gazelle-$GAZELLE_VERSION
if [[ ! -x $bin/gazelle || ! -e $stamp ]]; then
  echo "setup: building gazelle $GAZELLE_VERSION" >&2
  GOBIN=$bin GOTOOLCHAIN=local CGO_ENABLED=0 go install "github.com/bazelbuild/bazel-gazelle/cmd/gazelle@$GAZELLE_VERSION"
  rm -f "$bin"/.gazelle-*
  touch "$stamp"
fi

stamp=$bin/.buildifier-$BUILDIFIER_VERSION
if [[ ! -x $bin/buildifier || ! -e $stamp ]]; then
  command -v npm >/dev/null || { echo "setup: npm not found: apt-get install npm (tools/setup/install-deps.sh)" >&2; exit 1; }
  echo "setup: installing buildifier $BUILDIFIER_VERSION from npm" >&2
  npm install --silent --no-audit --no-fund --prefix "$cache/npm" "@bazel/buildifier@$BUILDIFIER_VERSION" >/dev/null
  # The npm package's launcher picks the platform binary; link it directly.
  real=$(find "$cache/npm/node_modules/@bazel/buildifier" -type f -name 'buildifier*linux*amd64*' | head -n1)
  [[ -n $real ]] || real=$cache/npm/node_modules/.bin/buildifier
  chmod +x "$real"
  ln -sf "$real" "$bin/buildifier"
  rm -f "$bin"/.buildifier-*
  touch "$stamp"
fi

# Quiet when cached or when there is no snapshot (then --config=remote needs
# an engine of your own: docs/remote.md).
if bash "$root/tools/bazel/buildbarn.sh" src >/dev/null 2>&1; then
  bash "$root/tools/bazel/buildbarn.sh" build
fi
