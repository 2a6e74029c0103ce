package export

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/guest/watchdog"
	"github.com/ktstr-go/ktstr/topology"
)

// ArchiveMarker is the line that separates the script from the base64
// archive; the script finds its payload by it.
const ArchiveMarker = "__ARCHIVE__"

// ScriptSpec is what the preamble freezes about a test.
type ScriptSpec struct {
	Test string
	// Scheduler is the sched_ext ops name; empty for EEVDF tests.
	Scheduler string
	// SchedulerArgv is the scheduler's guest command line (paths under
	// /sched/ and /include/); empty for EEVDF tests.
	SchedulerArgv []string
	// Git is the provenance stamp (short commit or "unknown").
	Git      string
	Topology topology.Topology
	Duration time.Duration
	// Watchdog zero means the scheduler's own; otherwise the test binary
	// supervises the scheduler and rewrites its ops' timeout.
	Watchdog time.Duration
	// Sysctls are set before the scheduler starts and restored on exit.
	Sysctls []guest.Sysctl
	// KernelArgs must be on the host's kernel command line.
	KernelArgs []string
	// Cgroup fixes the test's cgroup (relative to /sys/fs/cgroup) when
	// the scheduler is told its cgroup parent; empty picks one per run.
	Cgroup string
	// MapWrites describe the BPF map writes the test binary makes.
	MapWrites []string
}

// SpecFromManifest freezes a manifest into a script spec.
func SpecFromManifest(m *ktstr.ExportManifest, git string) ScriptSpec {
	s := ScriptSpec{Test: m.Test, Git: git, Topology: m.Topology, Duration: m.Duration, Watchdog: m.Watchdog,
		Sysctls: m.Sysctls, KernelArgs: m.KernelArgs, Cgroup: m.Cgroup}
	for _, w := range m.MapWrites {
		s.MapWrites = append(s.MapWrites, w.String())
	}
	if m.Scheduler != nil {
		s.Scheduler = m.Scheduler.Name
		s.SchedulerArgv = m.Scheduler.Argv
	}
	return s
}

// guestDirs map the guest's directories to the extracted tree, so the
// scheduler sees its files and config at the same relative places.
var guestDirs = []struct{ guest, archive string }{
	{guest.SchedDir, SchedPrefix},
	{guest.IncludeDir, IncludePrefix},
}

// ShellWord renders one guest argv element as a bash word for the .run
// script. A guest path under /sched/ or /include/ becomes the same path
// under the extracted "$DIR" when it starts at the element's first '/':
// alone (/sched/x), after an option's "=" (--config=/sched/x) or glued to
// a short option (-c/sched/x). Everything else is quoted literally, so
// /usr/sched/x stays as it is.
func ShellWord(arg string) string {
	if i := strings.IndexByte(arg, '/'); i >= 0 {
		for _, d := range guestDirs {
			if rest, ok := strings.CutPrefix(arg[i:], d.guest); ok {
				head := ""
				if i > 0 {
					head = Quote(arg[:i])
				}
				return head + `"$DIR"/` + quoteTail(d.archive+rest)
			}
		}
	}
	return Quote(arg)
}

// quoteTail quotes a path suffix that follows "$DIR"/ in the same word;
// unlike Quote it leaves nothing to add for the empty string.
func quoteTail(s string) string {
	if s == "" {
		return ""
	}
	return Quote(s)
}

// SchedulerCommand renders the scheduler argv as the bash command line the
// script runs, in the same order as in the VM.
func SchedulerCommand(argv []string) (string, error) {
	if len(argv) == 0 {
		return "", fmt.Errorf("scheduler command line is empty")
	}
	if !strings.HasPrefix(argv[0], guest.SchedDir) {
		return "", fmt.Errorf("scheduler argv[0] %q is not under %s: the scheduler binary must be one of its files", argv[0], guest.SchedDir)
	}
	words := make([]string, len(argv))
	for i, a := range argv {
		words[i] = ShellWord(a)
	}
	return strings.Join(words, " "), nil
}

// ceilSeconds rounds up, so a sub-second duration does not freeze as 0.
func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}

// Preamble renders the bash script that precedes the archive marker.
func Preamble(s ScriptSpec) (string, error) {
	if s.Test == "" {
		return "", fmt.Errorf("script spec has no test name")
	}
	if err := s.Topology.Validate(); err != nil {
		return "", err
	}
	data := map[string]any{
		"Test":     Quote(s.Test),
		"Sched":    Quote(firstNonEmpty(s.Scheduler, "eevdf")),
		"Git":      Quote(firstNonEmpty(s.Git, "unknown")),
		"NUMA":     s.Topology.NUMANodes,
		"LLCs":     s.Topology.LLCs,
		"Cores":    s.Topology.CoresPerLLC,
		"Threads":  s.Topology.ThreadsPerCore,
		"Duration": ceilSeconds(s.Duration),
		"Watchdog": ceilSeconds(s.Watchdog),
		"HasSched": s.Scheduler != "",
		// The test binary's supervisor mode (guest/watchdog).
		"Supervisor":  watchdog.Marker,
		"MaxWatchdog": ceilSeconds(watchdog.MaxTimeout),
		"Sysctls":     sysctlLines(s.Sysctls),
		"KernelArgs":  quoteAll(s.KernelArgs),
		"MapWrites":   s.MapWrites,
	}
	if s.Cgroup != "" {
		data["Cgroup"] = Quote("/sys/fs/cgroup/" + s.Cgroup)
	}
	for _, sc := range s.Sysctls {
		if err := sc.Check(); err != nil {
			return "", err
		}
	}
	if s.Scheduler != "" {
		cmd, err := SchedulerCommand(s.SchedulerArgv)
		if err != nil {
			return "", fmt.Errorf("scheduler %s: %w", s.Scheduler, err)
		}
		data["SchedCmd"] = cmd
	}
	var b bytes.Buffer
	if err := preambleTemplate.Execute(&b, data); err != nil {
		return "", fmt.Errorf("rendering the preamble: %w", err)
	}
	return b.String(), nil
}

// sysctlLines renders each sysctl as a set_sysctl call.
func sysctlLines(sysctls []guest.Sysctl) []string {
	var out []string
	for _, s := range sysctls {
		out = append(out, "set_sysctl "+Quote(s.Key)+" "+Quote(s.Value))
	}
	return out
}

// quoteAll quotes words for a bash list.
func quoteAll(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = Quote(w)
	}
	return strings.Join(q, " ")
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

var preambleTemplate = template.Must(template.New("preamble").Parse(preambleText))

// preambleText is the script. Every value interpolated into it is either a
// number or was quoted with Quote before; the template adds no quoting of
// its own. It needs bash, not sh: arrays, associative arrays, arithmetic
// for loops and pipefail; it avoids process substitution (/dev/fd may be
// missing on minimal hosts) and seq.
const preambleText = `#!/bin/bash
# Generated by ktstr export. Do not edit; regenerate to update.
# This script reproduces one ktstr test on this host without a VM. Its
# payload (the test binary and the scheduler) follows the __ARCHIVE__ line
# as a base64 gzipped tar.
set -euo pipefail

# --- frozen test specification ---
KTSTR_TEST_NAME={{.Test}}
KTSTR_SCHED_NAME={{.Sched}}
KTSTR_GIT_HASH={{.Git}}
NEED_NUMA_NODES={{.NUMA}}
NEED_LLCS={{.LLCs}}
NEED_CORES_PER_LLC={{.Cores}}
NEED_THREADS_PER_CORE={{.Threads}}
TEST_DURATION_SECS={{.Duration}}
# 0: the scheduler's own sched_ext watchdog timeout.
TEST_WATCHDOG_SECS={{.Watchdog}}
{{- range .MapWrites}}
# BPF map write made by the test binary once the scheduler is attached: {{.}}
{{- end}}

QUIET=0
DURATION_OVERRIDE=""
WATCHDOG_OVERRIDE=""

usage() {
    cat <<EOF
Usage: $0 [--quiet] [--duration SECS] [--watchdog-timeout SECS]

Reproduces ktstr test '$KTSTR_TEST_NAME' on bare metal. The script
extracts an embedded gzip tarball holding the test binary and the
scheduler, then runs the test directly on this host without booting a VM.

Frozen (cannot be overridden):
  scheduler         $KTSTR_SCHED_NAME
  topology          $NEED_NUMA_NODES NUMA / $NEED_LLCS LLCs / $NEED_CORES_PER_LLC cores/LLC / $NEED_THREADS_PER_CORE threads/core
  scheduler args    (compiled into the script)
  --cpus, --topology, --affinity reject any override

Overridable:
  --duration SECS         workload duration (default $TEST_DURATION_SECS)
  --watchdog-timeout SECS sched_ext watchdog for any scheduler, at most {{.MaxWatchdog}}
                          (default $TEST_WATCHDOG_SECS; 0 = the scheduler's own)
  --quiet                 suppress the banner (errors still print)

Environment:
  KTSTR_ATTACH_TIMEOUT_SECS  how long to wait for the scheduler to attach (default 10)

Requirements:
  Run as root: the script attaches a kernel BPF scheduler and sets up
  cgroup v2 groups; both need CAP_SYS_ADMIN.
  The host must satisfy the frozen topology (NUMA nodes, LLCs, cores per
  LLC, threads per core); the topology check stops with a specific
  "host has X, test needs Y" message if not.
  /sys/kernel/sched_ext must exist (kernel built with
  CONFIG_SCHED_CLASS_EXT) and no other sched_ext scheduler may be
  attached. cgroup2 must be mounted at /sys/fs/cgroup.

Exit codes:
  0   test passed
  1   prerequisite or topology check failed, scheduler attach failed,
      or the test failed
EOF
}

# need_value FLAG NARGS: FLAG must be followed by a value.
need_value() {
    if [ "$2" -lt 2 ]; then
        echo "error: $1 needs a value (use --help)" >&2
        exit 1
    fi
}

# check_secs FLAG VALUE: VALUE must be a positive whole number of seconds.
check_secs() {
    case "$2" in
        ''|*[!0-9]*|0*)
            echo "error: $1 wants a positive whole number of seconds, got '$2'" >&2
            exit 1 ;;
    esac
}

while [ $# -gt 0 ]; do
    case "$1" in
        --quiet) QUIET=1; shift ;;
        --duration) need_value "$1" "$#"; DURATION_OVERRIDE="$2"; shift 2 ;;
        --duration=*) DURATION_OVERRIDE="${1#*=}"; shift ;;
        --watchdog-timeout) need_value "$1" "$#"; WATCHDOG_OVERRIDE="$2"; shift 2 ;;
        --watchdog-timeout=*) WATCHDOG_OVERRIDE="${1#*=}"; shift ;;
        --cpus|--cpus=*|--topology|--topology=*|--affinity|--affinity=*)
            echo "error: ${1%%=*} is frozen for repro fidelity. Re-export to change." >&2
            exit 1 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "error: unknown arg '$1' (use --help)" >&2; exit 1 ;;
    esac
done
if [ -n "$DURATION_OVERRIDE" ]; then check_secs --duration "$DURATION_OVERRIDE"; fi
if [ -n "$WATCHDOG_OVERRIDE" ]; then check_secs --watchdog-timeout "$WATCHDOG_OVERRIDE"; fi

if [ "$QUIET" != "1" ]; then
    cat <<EOF
ktstr export: test=$KTSTR_TEST_NAME scheduler=$KTSTR_SCHED_NAME git=$KTSTR_GIT_HASH
Generated by ktstr export. This script attaches a kernel BPF scheduler
and runs as root. Inspect this script (everything before __ARCHIVE__)
before running it on a system you do not control.
EOF
fi

# --- root check ---
if [ "$(id -u)" != "0" ]; then
    echo "error: must run as root (need CAP_SYS_ADMIN for sched_ext + cgroup ops)" >&2
    exit 1
fi

# --- prerequisite checks ---
for tool in base64 tar gzip sed mktemp find sort wc; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "error: this script needs '$tool' in PATH" >&2
        exit 1
    fi
done
{{- if .HasSched}}
if [ ! -d /sys/kernel/sched_ext ]; then
    echo "error: kernel lacks sched_ext support (no /sys/kernel/sched_ext)" >&2
    exit 1
fi
{{- end}}
if [ ! -d /sys/fs/cgroup ]; then
    echo "error: cgroup2 not mounted at /sys/fs/cgroup" >&2
    exit 1
fi
CGROUP2=0
while read -r _ mnt fstype _; do
    if [ "$mnt" = /sys/fs/cgroup ] && [ "$fstype" = cgroup2 ]; then
        CGROUP2=1
    fi
done </proc/mounts
if [ "$CGROUP2" != 1 ]; then
    echo "error: /sys/fs/cgroup is not a cgroup2 mount" >&2
    exit 1
fi

# --- sched_ext conflict check ---
# Prefer /sys/kernel/sched_ext/state (6.12+), fall back to root/ops: either
# reporting an attached scheduler stops here, so this script never
# displaces someone else's scheduler (nor runs an EEVDF test under one).
if [ -r /sys/kernel/sched_ext/state ]; then
    CURRENT_STATE=$(cat /sys/kernel/sched_ext/state 2>/dev/null || true)
    if [ "$CURRENT_STATE" = "enabled" ]; then
        CURRENT_OPS=""
        if [ -f /sys/kernel/sched_ext/root/ops ]; then
            CURRENT_OPS=$(cat /sys/kernel/sched_ext/root/ops 2>/dev/null || true)
        fi
        echo "error: another sched_ext scheduler is already attached (state=enabled, ops=${CURRENT_OPS:-unknown})." >&2
        echo "       Detach it before running this repro (e.g. kill its supervisor)." >&2
        exit 1
    fi
elif [ -f /sys/kernel/sched_ext/root/ops ]; then
    CURRENT=$(cat /sys/kernel/sched_ext/root/ops 2>/dev/null || true)
    if [ -n "$CURRENT" ]; then
        echo "error: another sched_ext scheduler '$CURRENT' is already attached." >&2
        echo "       Detach it before running this repro (e.g. kill its supervisor)." >&2
        exit 1
    fi
fi

{{- if .KernelArgs}}
# --- kernel command line ---
# Kernel arguments cannot be applied to a running host: it must have been
# booted with them.
NEED_KERNEL_ARGS=({{.KernelArgs}})
for arg in "${NEED_KERNEL_ARGS[@]}"; do
    case " $(cat /proc/cmdline) " in
        *" $arg "*) ;;
        *)
            echo "error: this test needs kernel argument '$arg' on the kernel command line; boot this host with it" >&2
            exit 1 ;;
    esac
done
{{- end}}

# --- topology check ---
# The LLC is cpu0's cache with the highest level (L3 on most x86, L4 on a
# few; ARM varies); LLCs are the distinct shared_cpu_lists at that index.
SYS_CPU=/sys/devices/system/cpu
LLC_INDEX=""
LLC_LEVEL=0
for d in "$SYS_CPU"/cpu0/cache/index*; do
    if [ -r "$d/level" ]; then
        level=$(cat "$d/level")
        if [ "$level" -gt "$LLC_LEVEL" ]; then
            LLC_LEVEL=$level
            LLC_INDEX=${d##*/}
        fi
    fi
done
HOST_LLCS=0
CPU0_LLC=""
if [ -n "$LLC_INDEX" ]; then
    HOST_LLCS=$(cat "$SYS_CPU"/cpu[0-9]*/cache/"$LLC_INDEX"/shared_cpu_list 2>/dev/null | sort -u | wc -l || true)
    CPU0_LLC=$(cat "$SYS_CPU/cpu0/cache/$LLC_INDEX/shared_cpu_list" 2>/dev/null || true)
fi
HOST_NUMA=0
for d in /sys/devices/system/node/node[0-9]*; do
    if [ -d "$d" ]; then
        HOST_NUMA=$((HOST_NUMA + 1))
    fi
done
if [ "$HOST_NUMA" -lt 1 ]; then
    HOST_NUMA=1
fi

# expand_cpu_list "0-3,8" sets CPU_IDS to the CPU ids the list names.
# It fills an array instead of printing so that no process substitution
# is needed: that needs /dev/fd, which minimal hosts may lack.
expand_cpu_list() {
    local part c
    local -a parts
    CPU_IDS=()
    IFS=, read -r -a parts <<<"$1"
    for part in "${parts[@]}"; do
        case "$part" in
            *-*)
                for ((c = ${part%-*}; c <= ${part#*-}; c++)); do
                    CPU_IDS+=("$c")
                done ;;
            ?*) CPU_IDS+=("$part") ;;
        esac
    done
}

# Cores per LLC: distinct core_ids among the CPUs sharing cpu0's LLC.
# Threads per core: those CPUs with cpu0's core_id.
HOST_CORES_PER_LLC=0
HOST_THREADS_PER_CORE=0
if [ -n "$CPU0_LLC" ]; then
    CPU0_CORE=$(cat "$SYS_CPU/cpu0/topology/core_id" 2>/dev/null || true)
    declare -A LLC_CORES=()
    expand_cpu_list "$CPU0_LLC"
    for id in "${CPU_IDS[@]}"; do
        core=$(cat "$SYS_CPU/cpu$id/topology/core_id" 2>/dev/null || true)
        if [ -z "$core" ]; then
            continue
        fi
        LLC_CORES[$core]=1
        if [ "$core" = "$CPU0_CORE" ]; then
            HOST_THREADS_PER_CORE=$((HOST_THREADS_PER_CORE + 1))
        fi
    done
    HOST_CORES_PER_LLC=${#LLC_CORES[@]}
fi

if [ "$HOST_LLCS" = "0" ]; then
    echo "warning: could not detect host LLC count from sysfs (no cache/index* found for cpu0); the topology check below will fail" >&2
fi
if [ "$HOST_LLCS" -lt "$NEED_LLCS" ]; then
    echo "error: host has $HOST_LLCS LLCs, test needs $NEED_LLCS" >&2
    exit 1
fi
if [ "$HOST_NUMA" -lt "$NEED_NUMA_NODES" ]; then
    echo "error: host has $HOST_NUMA NUMA nodes, test needs $NEED_NUMA_NODES" >&2
    exit 1
fi
if [ "$HOST_CORES_PER_LLC" -gt 0 ] && [ "$HOST_CORES_PER_LLC" -lt "$NEED_CORES_PER_LLC" ]; then
    echo "error: host has $HOST_CORES_PER_LLC cores per LLC, test needs $NEED_CORES_PER_LLC" >&2
    exit 1
fi
if [ "$HOST_THREADS_PER_CORE" -gt 0 ] && [ "$HOST_THREADS_PER_CORE" -lt "$NEED_THREADS_PER_CORE" ]; then
    echo "error: host has $HOST_THREADS_PER_CORE threads per core, test needs $NEED_THREADS_PER_CORE" >&2
    exit 1
fi

# --- extract the embedded archive ---
DIR=$(mktemp -d -t ktstr-export-XXXXXX)
chmod 700 "$DIR"
# The test's own cgroup subtree; ktstr run creates it and removes it, and
# the trap removes whatever a killed run left behind. It is named after
# this shell's PID, so concurrent runs never touch each other's groups.
{{- if .Cgroup}}
# The scheduler is told this cgroup parent, so the test's cgroup is fixed.
# A group of that name that exists already is someone else's: stop here,
# before the trap below could remove it.
KTSTR_CGROUP={{.Cgroup}}
if [ -e "$KTSTR_CGROUP" ]; then
    echo "error: cgroup $KTSTR_CGROUP already exists; this test creates it (the scheduler's cgroup parent) and removes it when done: remove it or run elsewhere" >&2
    rmdir "$DIR"
    exit 1
fi
{{- else}}
KTSTR_CGROUP="/sys/fs/cgroup/ktstr-run-$$"
{{- end}}
SCHED_PID=""
# Sysctls this script changed, as path, old value pairs (restored on exit).
SYSCTL_RESTORE=()
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    local rc=$? i
    if [ -n "$SCHED_PID" ]; then
        kill "$SCHED_PID" 2>/dev/null || true
        # Give the scheduler 5s to detach cleanly, then force it.
        for ((i = 0; i < 50; i++)); do
            if ! kill -0 "$SCHED_PID" 2>/dev/null; then
                break
            fi
            sleep 0.1
        done
        kill -KILL "$SCHED_PID" 2>/dev/null || true
        wait "$SCHED_PID" 2>/dev/null || true
    fi
    rm -rf "$DIR"
    # cgroup2 removes a group's interface files with it but refuses to
    # remove a group that still has children or processes: kill what is
    # left, then rmdir depth-first (find -depth lists leaves first),
    # retrying while killed processes exit.
    if [ -d "$KTSTR_CGROUP" ]; then
        echo 1 2>/dev/null >"$KTSTR_CGROUP/cgroup.kill" || true
        for ((i = 0; i < 50; i++)); do
            find "$KTSTR_CGROUP" -depth -type d -exec rmdir {} + 2>/dev/null || true
            if [ ! -d "$KTSTR_CGROUP" ]; then
                break
            fi
            sleep 0.1
        done
        if [ -d "$KTSTR_CGROUP" ]; then
            echo "warning: could not remove $KTSTR_CGROUP; remove it with rmdir once its processes are gone" >&2
        fi
    fi
    for ((i = ${#SYSCTL_RESTORE[@]} - 2; i >= 0; i -= 2)); do
        printf '%s' "${SYSCTL_RESTORE[i+1]}" 2>/dev/null >"${SYSCTL_RESTORE[i]}" ||
            echo "warning: could not restore ${SYSCTL_RESTORE[i]} to '${SYSCTL_RESTORE[i+1]}'" >&2
    done
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

sed '1,/^__ARCHIVE__$/d' "$0" | base64 -d | tar -xzf - -C "$DIR"
if [ ! -x "$DIR/ktstr" ]; then
    echo "error: extracted ktstr binary missing or not executable" >&2
    exit 1
fi
{{- if .Sysctls}}

# --- sysctls ---
# Set before the scheduler starts, each read back (the kernel prints some
# values in its own spacing); the old values come back on exit.
set_sysctl() {
    local path=/proc/sys/${1//.//} old got
    local -a want have
    if [ ! -w "$path" ]; then
        echo "error: sysctl $1: $path does not exist or is not writable" >&2
        exit 1
    fi
    old=$(cat "$path")
    SYSCTL_RESTORE+=("$path" "$old")
    if ! printf '%s' "$2" 2>/dev/null >"$path"; then
        echo "error: sysctl $1: writing '$2' to $path failed" >&2
        exit 1
    fi
    got=$(cat "$path")
    read -r -a want <<<"$2"
    read -r -a have <<<"$got"
    if [ "${want[*]}" != "${have[*]}" ]; then
        echo "error: sysctl $1: wrote '$2', read back '$got' (the kernel clamped or refused the value)" >&2
        exit 1
    fi
}
{{- range .Sysctls}}
{{.}}
{{- end}}
{{- end}}
{{- if .HasSched}}

# --- scheduler launch ---
# The command line is the one the VM runs, with /sched/ and /include/
# paths mapped into the extracted tree.
if [ "$QUIET" != "1" ]; then
    echo "ktstr export: launching scheduler $KTSTR_SCHED_NAME"
fi
# With a watchdog timeout the test binary supervises the scheduler, as in
# the VM: it rewrites ops.timeout_ms in the sched_ext ops the scheduler
# registers (any scheduler; see guest/watchdog) and forwards signals.
WATCHDOG_SECS=${WATCHDOG_OVERRIDE:-$TEST_WATCHDOG_SECS}
if [ "$WATCHDOG_SECS" -gt {{.MaxWatchdog}} ]; then
    echo "error: --watchdog-timeout $WATCHDOG_SECS: sched_ext accepts at most {{.MaxWatchdog}}s" >&2
    exit 1
fi
SUPERVISE=()
if [ "$WATCHDOG_SECS" != 0 ]; then
    SUPERVISE=("$DIR/ktstr" {{.Supervisor}} -timeout "${WATCHDOG_SECS}s" --)
fi
${SUPERVISE[@]+"${SUPERVISE[@]}"} {{.SchedCmd}} &
SCHED_PID=$!
# Wait for the attach, 10s unless KTSTR_ATTACH_TIMEOUT_SECS says otherwise
# (BPF verification can take longer on slow or emulated hosts).
# /sys/kernel/sched_ext/state (6.12+) reads "enabled" once a scheduler is
# attached; root/ops, on every sched_ext kernel, holds the attached
# scheduler's name. Stop if the scheduler exits first, or is alive but
# still unattached at the timeout.
ATTACH_SECS=${KTSTR_ATTACH_TIMEOUT_SECS:-10}
check_secs KTSTR_ATTACH_TIMEOUT_SECS "$ATTACH_SECS"
ATTACHED=""
for ((i = 0; i < ATTACH_SECS * 10; i++)); do
    if ! kill -0 "$SCHED_PID" 2>/dev/null; then
        echo "error: scheduler $KTSTR_SCHED_NAME exited before attaching" >&2
        wait "$SCHED_PID" || true
        SCHED_PID=""
        exit 1
    fi
    if [ -r /sys/kernel/sched_ext/state ]; then
        STATE=$(cat /sys/kernel/sched_ext/state 2>/dev/null || true)
        if [ "$STATE" = "enabled" ]; then
            ATTACHED="$STATE"
            break
        fi
    fi
    if [ -f /sys/kernel/sched_ext/root/ops ]; then
        OPS=$(cat /sys/kernel/sched_ext/root/ops 2>/dev/null || true)
        if [ -n "$OPS" ]; then
            ATTACHED="$OPS"
            break
        fi
    fi
    sleep 0.1
done
if [ -z "$ATTACHED" ]; then
    echo "error: scheduler $KTSTR_SCHED_NAME launched but did not attach within ${ATTACH_SECS}s" >&2
    echo "       (process is still alive; check the kernel log for BPF verifier or load errors)" >&2
    exit 1
fi
{{- end}}

# --- run the test ---
# Not with exec: exec would replace this shell and drop the EXIT trap,
# leaking the scheduler, the temp dir and the cgroups.
RUN_ARGS=(ktstr run --test "$KTSTR_TEST_NAME" --cgroup "$KTSTR_CGROUP")
if [ -n "$DURATION_OVERRIDE" ]; then
    RUN_ARGS+=(--duration "$DURATION_OVERRIDE")
fi
if [ -n "$WATCHDOG_OVERRIDE" ]; then
    RUN_ARGS+=(--watchdog-timeout "$WATCHDOG_OVERRIDE")
fi
# errexit off for the test alone: its failure is our exit status, and the
# trap still cleans up.
set +e
"$DIR/ktstr" "${RUN_ARGS[@]}"
EXIT_CODE=$?
set -e
if [ "$EXIT_CODE" != 0 ]; then
    exit 1
fi
exit 0
`
