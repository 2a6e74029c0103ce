#!/usr/bin/env bash
# Runs inside a fresh mount + PID namespace (see buildbarn.sh start_runner):
# hides every MASK under an empty read-only tmpfs, binds STATE (the worker's
# build directory, possibly under a hidden path) back at its own path, then
# execs CMD with an environment that names nothing of ours.
# Usage: buildbarn-isolate.sh STATE MASK... -- CMD [ARG]...
set -euo pipefail
state=$1; shift
masks=()
while [[ $1 != -- ]]; do masks+=("$1"); shift; done
shift

# Keep a handle on STATE before a mask may hide its path.
exec 3<"$state"
for m in "${masks[@]}"; do
  mount -t tmpfs -o ro,nosuid,nodev,size=4k,mode=755 ktstr-hidden "$m"
done
# /tmp is hidden too; actions get a fresh, writable one. So is /dev/shm,
# where QEMU keeps guest RAM: the VMs' files are the namespace's own and
# vanish with it, even when the runner is killed mid-test.
mount -t tmpfs -o nosuid,nodev,mode=1777 ktstr-tmp /tmp
mount -t tmpfs -o nosuid,nodev,mode=1777 ktstr-shm /dev/shm
mkdir -p "$state"
# -c: bind what fd 3 is, not what its path now resolves to.
mount -c --bind /proc/self/fd/3 "$state"
exec 3<&-
cd /
exec env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/nonexistent BB_ROOT="$state" "$@"
