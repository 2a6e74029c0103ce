package export

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/topology"
)

func sampleSpec() ScriptSpec {
	return ScriptSpec{
		Test:          "two_cgroups",
		Scheduler:     "simple",
		SchedulerArgv: []string{"/sched/scx_simple", "--config", "/sched/c.json", "--slice-us", "20000", "--name=it's"},
		Git:           "abc1234",
		Topology:      topology.Topology{NUMANodes: 1, LLCs: 2, CoresPerLLC: 2, ThreadsPerCore: 1},
		Duration:      4500 * time.Millisecond,
		Watchdog:      10 * time.Second,
	}
}

func TestPreambleFreezesSpec(t *testing.T) {
	p, err := Preamble(sampleSpec())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"#!/bin/bash\n",
		"\nset -euo pipefail\n",
		"\nKTSTR_TEST_NAME=two_cgroups\n",
		"\nKTSTR_SCHED_NAME=simple\n",
		"\nKTSTR_GIT_HASH=abc1234\n",
		"\nNEED_NUMA_NODES=1\n", "\nNEED_LLCS=2\n", "\nNEED_CORES_PER_LLC=2\n", "\nNEED_THREADS_PER_CORE=1\n",
		"\nTEST_DURATION_SECS=5\n", // rounded up, never frozen as less
		"\nTEST_WATCHDOG_SECS=10\n",
		"\n${SUPERVISE[@]+\"${SUPERVISE[@]}\"} " + `"$DIR"/sched/scx_simple --config "$DIR"/sched/c.json --slice-us 20000 '--name=it'\''s'` + " &\n",
		"\n    SUPERVISE=(\"$DIR/ktstr\" ktstr-scx-watchdog -timeout \"${WATCHDOG_SECS}s\" --)\n",
		"\ntrap cleanup EXIT\n",
		"\n\"$DIR/ktstr\" \"${RUN_ARGS[@]}\"\n",
	} {
		if !strings.Contains(p, want) {
			t.Errorf("preamble lacks %q", want)
		}
	}
	if strings.Contains(p, "exec \"$DIR/ktstr\"") {
		t.Error("preamble runs the test with exec, which drops the cleanup trap")
	}
	// The marker must not appear on a line of its own in the preamble,
	// or the script would extract from the wrong place.
	for _, l := range strings.Split(p, "\n") {
		if l == ArchiveMarker {
			t.Error("preamble contains the archive marker line")
		}
	}
}

// TestPreambleProductionConfig: sysctls are set and restored, the kernel
// arguments checked, the cgroup fixed by the cgroup parent, the map writes
// listed; none of it appears when the test declares none.
func TestPreambleProductionConfig(t *testing.T) {
	s := sampleSpec()
	s.Sysctls = []guest.Sysctl{{Key: "kernel.sched_rt_runtime_us", Value: "950000"}, {Key: "kernel.printk", Value: "4 4 1 7"}}
	s.KernelArgs = []string{"nosmt", "isolcpus=1"}
	s.Cgroup = "ktstr.slice"
	s.MapWrites = []string{".bss.test_error_cnt = 0x64000000"}
	p, err := Preamble(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\nset_sysctl kernel.sched_rt_runtime_us 950000\nset_sysctl kernel.printk '4 4 1 7'\n",
		"\nNEED_KERNEL_ARGS=(nosmt isolcpus=1)\n",
		"\nKTSTR_CGROUP=/sys/fs/cgroup/ktstr.slice\n",
		"\n# BPF map write made by the test binary once the scheduler is attached: .bss.test_error_cnt = 0x64000000\n",
	} {
		if !strings.Contains(p, want) {
			t.Errorf("preamble lacks %q", want)
		}
	}
	if strings.Index(p, "set_sysctl kernel.printk") > strings.Index(p, "# --- scheduler launch ---") {
		t.Error("sysctls must be set before the scheduler starts")
	}
	plain, err := Preamble(sampleSpec())
	if err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"set_sysctl", "/proc/cmdline", "KTSTR_CGROUP=/sys/fs/cgroup/ktstr.slice", "BPF map write"} {
		if strings.Contains(plain, absent) {
			t.Errorf("a plain test's preamble has %q", absent)
		}
	}
	bad := sampleSpec()
	bad.Sysctls = []guest.Sysctl{{Key: "../../etc/passwd", Value: "x"}}
	if _, err := Preamble(bad); err == nil {
		t.Error("a sysctl key outside /proc/sys was accepted")
	}
}

func TestPreambleEEVDFHasNoSchedulerLaunch(t *testing.T) {
	s := sampleSpec()
	s.Scheduler, s.SchedulerArgv = "", nil
	p, err := Preamble(s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p, "\nKTSTR_SCHED_NAME=eevdf\n") {
		t.Error("EEVDF test not named eevdf")
	}
	for _, bad := range []string{"SCHED_PID=$!", "scheduler launch", "kernel lacks sched_ext"} {
		if strings.Contains(p, bad) {
			t.Errorf("EEVDF preamble contains %q", bad)
		}
	}
	// The conflict check stays: an EEVDF test must not run under some
	// other sched_ext scheduler.
	if !strings.Contains(p, "another sched_ext scheduler is already attached") {
		t.Error("EEVDF preamble lost the conflict check")
	}
}

func TestPreambleQuotesHostileValues(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	s := sampleSpec()
	s.Test = `x'; touch /tmp/pwned; echo '$(id)`
	s.Scheduler = "a b`id`"
	s.Git = `"$HOME"`
	p, err := Preamble(s)
	if err != nil {
		t.Fatal(err)
	}
	// Run just the frozen-spec block and print the values back.
	start := strings.Index(p, "# --- frozen test specification ---")
	end := strings.Index(p, "QUIET=0")
	script := p[start:end] + `printf '%s\n' "$KTSTR_TEST_NAME" "$KTSTR_SCHED_NAME" "$KTSTR_GIT_HASH"`
	out, err := exec.Command(bash, "-c", script).Output()
	if err != nil {
		t.Fatalf("bash: %v", err)
	}
	want := s.Test + "\n" + s.Scheduler + "\n" + s.Git + "\n"
	if string(out) != want {
		t.Errorf("values through bash:\n got %q\nwant %q", out, want)
	}
}

func TestPreambleRejectsBadSpec(t *testing.T) {
	s := sampleSpec()
	s.Topology = topology.Topology{}
	if _, err := Preamble(s); err == nil {
		t.Error("no error for a zero topology")
	}
	s = sampleSpec()
	s.SchedulerArgv = []string{"/usr/bin/scx_simple"}
	if _, err := Preamble(s); err == nil || !strings.Contains(err.Error(), "not under /sched/") {
		t.Errorf("error %v, want argv[0] outside /sched/", err)
	}
}

// writeSampleRunfile writes a complete .run with a tiny archive.
// TestPreambleNeedsOnlyBasicTools keeps the script runnable on minimal
// hosts: process substitution needs /dev/fd (a busybox initramfs has
// none; the VM end-to-end test found it) and seq is not in every base
// system.
func TestPreambleNeedsOnlyBasicTools(t *testing.T) {
	p, err := Preamble(sampleSpec())
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<(", ">(", "$(seq", "mapfile"} {
		if strings.Contains(p, bad) {
			t.Errorf("preamble uses %q", bad)
		}
	}
}

func writeSampleRunfile(t *testing.T, s ScriptSpec) string {
	t.Helper()
	dir := t.TempDir()
	bin := writeFile(t, filepath.Join(dir, "bin"), "#!/bin/sh\nexit 0\n", 0o755)
	blob, err := BuildArchive([]Entry{{BinaryName, bin}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := Preamble(s)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "t.run")
	if err := WriteRunfile(path, p, blob); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestShellcheck(t *testing.T) {
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Skip("shellcheck not installed (Debian package shellcheck; tools/setup/install-deps.sh)")
	}
	eevdf := sampleSpec()
	eevdf.Scheduler, eevdf.SchedulerArgv = "", nil
	prod := sampleSpec()
	prod.Sysctls = []guest.Sysctl{{Key: "kernel.printk", Value: "4 4 1 7"}}
	prod.KernelArgs, prod.Cgroup, prod.MapWrites = []string{"nosmt"}, "ktstr.slice", []string{".bss.x = 0x01"}
	for name, s := range map[string]ScriptSpec{"scheduler": sampleSpec(), "eevdf": eevdf, "production": prod} {
		t.Run(name, func(t *testing.T) {
			path := writeSampleRunfile(t, s)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			// shellcheck reads the script part; the payload is not shell.
			script, _, _ := strings.Cut(string(b), "\n"+ArchiveMarker+"\n")
			cmd := exec.Command(sc, "--shell=bash", "--severity=style", "-")
			cmd.Stdin = strings.NewReader(script + "\n")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("shellcheck: %v\n%s", err, out)
			}
		})
	}
}

// TestRunfileArguments runs the script's argument handling, which comes
// before any check that needs root or sched_ext.
func TestRunfileArguments(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not installed")
	}
	path := writeSampleRunfile(t, sampleSpec())
	tests := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"--help"}, 0, "Reproduces ktstr test 'two_cgroups' on bare metal", ""},
		{[]string{"-h"}, 0, "1 NUMA / 2 LLCs / 2 cores/LLC / 1 threads/core", ""},
		{[]string{"--cpus", "4"}, 1, "", "error: --cpus is frozen for repro fidelity. Re-export to change."},
		{[]string{"--topology=1n1l1c1t"}, 1, "", "error: --topology is frozen for repro fidelity. Re-export to change."},
		{[]string{"--affinity", "0"}, 1, "", "error: --affinity is frozen"},
		{[]string{"--bogus"}, 1, "", "error: unknown arg '--bogus' (use --help)"},
		{[]string{"--duration"}, 1, "", "error: --duration needs a value"},
		{[]string{"--duration", "abc"}, 1, "", "error: --duration wants a positive whole number of seconds, got 'abc'"},
		{[]string{"--watchdog-timeout=0"}, 1, "", "error: --watchdog-timeout wants a positive whole number of seconds, got '0'"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			cmd := exec.Command(path, tt.args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code || !strings.Contains(stdout.String(), tt.stdout) || !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, stdout containing %q, stderr containing %q",
					code, stdout.String(), stderr.String(), tt.code, tt.stdout, tt.stderr)
			}
			// The help text once: each of its sections appears one time.
			if tt.code == 0 {
				for _, head := range []string{"Frozen (cannot be overridden):", "Overridable:", "Environment:", "Requirements:", "Exit codes:"} {
					if n := strings.Count(stdout.String(), head); n != 1 {
						t.Errorf("help has %q %d times, want once:\n%s", head, n, stdout.String())
					}
				}
			}
		})
	}
}
