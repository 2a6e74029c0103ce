#!/usr/bin/env bash
# Installs everything ktstr-go needs on a Debian 12 machine: QEMU (TCG
# backend), the kernel toolchain and sources (6.12 with sched_ext; 6.1,
# CFS without it, the gauntlet's second kernel), clang for BPF,
# busybox for shells, bash-static for export tests, iasl for ACPI checks,
# the shell linter, the distribution registry server, Bazel, the
# benchmark payloads tests run in the guest (rt-tests: cyclictest,
# hackbench; stress-ng), and chromium (the results test renders the HTML
# report headless).
# Idempotent: packages already present are skipped by apt.
set -euo pipefail

pkgs=(
  qemu-system-x86 qemu-utils
  linux-source-6.12 linux-source-6.1
  build-essential flex bison bc libelf-dev libssl-dev cpio xz-utils ccache dwarves kmod git
  clang-19 llvm-19 lld-19 bpftool libbpf-dev zlib1g-dev libzstd-dev pkg-config
  busybox-static bash-static acpica-tools shellcheck docker-registry
  bazel-bootstrap bazel-skylib bazel-platforms
  rt-tests stress-ng chromium
)
# npm (for buildifier) may come with a non-Debian nodejs package that
# conflicts with Debian's npm: only ask apt for it when there is none.
command -v npm >/dev/null 2>&1 || pkgs+=(npm)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# docker-registry's package starts a system service on :5000; tests start their own on loopback.
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now docker-registry >/dev/null 2>&1 || true; fi
