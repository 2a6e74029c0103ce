package export

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeSysfs writes a /sys/devices/system tree for one NUMA node, llcs
// LLCs of cores cores each, one thread per core: the files the script's
// topology check reads.
func fakeSysfs(t *testing.T, root string, llcs, cores int) {
	t.Helper()
	n := llcs * cores
	for c := range n {
		llc := c / cores
		cpu := filepath.Join(root, "cpu", fmt.Sprintf("cpu%d", c))
		writeFile(t, filepath.Join(cpu, "cache", "index0", "level"), "1\n", 0o644)
		writeFile(t, filepath.Join(cpu, "cache", "index0", "shared_cpu_list"), fmt.Sprintf("%d\n", c), 0o644)
		writeFile(t, filepath.Join(cpu, "cache", "index3", "level"), "3\n", 0o644)
		writeFile(t, filepath.Join(cpu, "cache", "index3", "shared_cpu_list"), fmt.Sprintf("%d-%d\n", llc*cores, llc*cores+cores-1), 0o644)
		writeFile(t, filepath.Join(cpu, "topology", "core_id"), fmt.Sprintf("%d\n", c%cores), 0o644)
	}
	if err := os.MkdirAll(filepath.Join(root, "node", "node0"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestRunfileOnFakeHost runs exported scripts as root in a private mount
// namespace whose sysfs topology is a fixture and whose /sys/fs/cgroup is
// a cgroup2 mount: the topology check, the extraction, the dispatch into
// `ktstr run` and the cleanup all run for real, without a VM. (sched_ext
// is not needed: the fixtures run under EEVDF.)
func TestRunfileOnFakeHost(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (mount namespace, cgroups)")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs unshare (util-linux)")
	}
	if out, err := exec.Command("unshare", "--mount", "true").CombinedOutput(); err != nil {
		t.Skipf("cannot create a mount namespace: %v %s", err, out)
	}
	if testing.Short() {
		t.Skip("spawns namespaces and the test binary; skipped under -short")
	}
	dir := t.TempDir()
	sys := filepath.Join(dir, "system")
	fakeSysfs(t, sys, 1, 2) // 1n1l2c1t
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	export := func(name string) string {
		out := filepath.Join(dir, name+".run")
		if _, err := Export(context.Background(), Options{TestBinary: self(t), Test: name, Output: out}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	// run executes the script in the namespace (sysfs topology and
	// sched_ext files faked, cgroup2 real) and reports what is left:
	// cgroups named ktstr-run-* and the fake scheduler's process.
	schedLog := filepath.Join(dir, "sched.log")
	run := func(script, preState string, env []string, args ...string) (int, string) {
		ns := `set -e
mount -t tmpfs none /sys/devices/system
cp -a "$FAKE_SYS"/. /sys/devices/system/
mount -t tmpfs none /sys/kernel
mkdir -p /sys/kernel/sched_ext/root
echo "${PRE_STATE%% *}" >/sys/kernel/sched_ext/state
echo "${PRE_STATE#* }" >/sys/kernel/sched_ext/root/ops
mount -t cgroup2 none /sys/fs/cgroup
# A fake /proc/sys/kernel and kernel command line for the sysctl and
# kernel argument checks.
mount -t tmpfs none /proc/sys/kernel
echo 1000000 >/proc/sys/kernel/sched_rt_runtime_us
echo "console=ttyS0 $FAKE_CMDLINE" >"$FAKE_SYS/../cmdline"
mount --bind "$FAKE_SYS/../cmdline" /proc/cmdline
rm -f "$FAKE_SCHED_LOG"
set +e
"$SCRIPT" --quiet "$@"
echo "exit=$?"
echo "controllers=$(cat /sys/fs/cgroup/cgroup.controllers)"
echo "left-cgroups=$(ls -d /sys/fs/cgroup/ktstr-run-* /sys/fs/cgroup/ktstr-fixture-* 2>/dev/null)"
echo "sysctl-after=$(cat /proc/sys/kernel/sched_rt_runtime_us)"
if [ -f "$FAKE_SCHED_LOG" ]; then
    cat "$FAKE_SCHED_LOG"
    pid=$(sed -n 's/^pid: //p' "$FAKE_SCHED_LOG")
    if kill -0 "$pid" 2>/dev/null; then echo "scheduler-left=$pid"; kill -9 "$pid"; fi
fi
`
		cmd := exec.Command("unshare", append([]string{"--mount", "--propagation", "private", "bash", "-c", ns, "ns"}, args...)...)
		cmd.Env = append(os.Environ(), "FAKE_SYS="+sys, "SCRIPT="+script, "TMPDIR="+tmp, "FAKE_SCHED_LOG="+schedLog, "PRE_STATE="+preState)
		cmd.Env = append(cmd.Env, env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("namespace: %v\n%s", err, out)
		}
		var code int
		for _, l := range strings.Split(string(out), "\n") {
			if v, ok := strings.CutPrefix(l, "exit="); ok {
				fmt.Sscan(v, &code)
			}
		}
		if strings.Contains(string(out), "scheduler-left=") {
			t.Errorf("the scheduler outlived the script:\n%s", out)
		}
		return code, string(out)
	}
	noLeftovers := func(out string) {
		t.Helper()
		if !strings.Contains(out, "\nleft-cgroups=\n") {
			t.Errorf("cgroups left behind:\n%s", out)
		}
		if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
			t.Errorf("temp dirs left behind in TMPDIR: %v", ents)
		}
	}

	t.Run("fewer LLCs", func(t *testing.T) {
		code, out := run(export("export_fixture_2llc"), "disabled ", nil)
		if code != 1 || !strings.Contains(out, "error: host has 1 LLCs, test needs 2\n") {
			t.Errorf("exit %d, want 1 with the LLC message:\n%s", code, out)
		}
		noLeftovers(out)
	})
	// passedOrNoControllers checks the outcome of a run that got as far as
	// ktstr run: a pass where cgroup2 offers cpu and cpuset, else (a
	// hybrid cgroup host, cpu and cpuset bound to v1) ktstr run's
	// explanation of what is missing.
	passedOrNoControllers := func(test string, code int, out string) {
		t.Helper()
		ctrls := ""
		for _, l := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(l, "controllers="); ok {
				ctrls = " " + v + " "
			}
		}
		if strings.Contains(ctrls, " cpu ") && strings.Contains(ctrls, " cpuset ") {
			if code != 0 || !strings.Contains(out, "ktstr: "+test+" passed\n") {
				t.Errorf("exit %d, want 0 and a pass:\n%s", code, out)
			}
		} else if code != 1 || !strings.Contains(out, "ktstr: "+test+": enabling +cpu +cpuset in /sys/fs/cgroup/cgroup.subtree_control") {
			t.Errorf("exit %d, want 1 from ktstr run's controller check:\n%s", code, out)
		}
	}
	t.Run("matching topology", func(t *testing.T) {
		code, out := run(export("export_fixture_eevdf"), "disabled ", nil)
		passedOrNoControllers("export_fixture_eevdf", code, out)
		noLeftovers(out)
	})
	sched := export("export_fixture_sched")
	t.Run("scheduler attaches and detaches", func(t *testing.T) {
		code, out := run(sched, "disabled ", nil, "--watchdog-timeout", "5")
		passedOrNoControllers("export_fixture_sched", code, out)
		for _, want := range []string{"\nargv: --slice it's 5 -c", "/sched/fake.json --fast\n", "/ktstr ktstr-scx-watchdog -timeout 5s -- ", "\ndetached\n"} {
			if !strings.Contains(out, want) {
				t.Errorf("scheduler log lacks %q:\n%s", want, out)
			}
		}
		noLeftovers(out)
	})
	t.Run("frozen watchdog", func(t *testing.T) {
		_, out := run(sched, "disabled ", nil)
		if !strings.Contains(out, "/ktstr ktstr-scx-watchdog -timeout 3s -- ") {
			t.Errorf("scheduler did not run under the supervisor with the frozen 3s watchdog:\n%s", out)
		}
		noLeftovers(out)
	})
	prod := export("export_fixture_prod")
	t.Run("configured as in production", func(t *testing.T) {
		code, out := run(prod, "disabled ", []string{"FAKE_CMDLINE=ktstr_fixture_karg=1"})
		passedOrNoControllers("export_fixture_prod", code, out)
		for _, want := range []string{
			// Config first, the cgroup parent, then the test's arguments;
			// the test's config content under the scheduler's file name.
			"/sched/fake.json --cell-parent-cgroup /ktstr-fixture-cells --extra\n",
			"\nconfig: {\"cells\": 2}\n",
			"\nsysctl-before-attach: 950000\n", // set before the scheduler started
			"\nsysctl-after=1000000\n",         // and restored
			"cgroup /sys/fs/cgroup/ktstr-fixture-cells",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("run lacks %q:\n%s", want, out)
			}
		}
		noLeftovers(out)
	})
	t.Run("kernel argument missing", func(t *testing.T) {
		code, out := run(prod, "disabled ", nil)
		if code != 1 || !strings.Contains(out, "error: this test needs kernel argument 'ktstr_fixture_karg=1' on the kernel command line") {
			t.Errorf("exit %d, want 1 with the kernel argument message:\n%s", code, out)
		}
		if strings.Contains(out, "argv:") {
			t.Error("the scheduler was launched without the kernel argument")
		}
		noLeftovers(out)
	})
	t.Run("another scheduler attached", func(t *testing.T) {
		code, out := run(sched, "enabled other", nil)
		if code != 1 || !strings.Contains(out, "error: another sched_ext scheduler is already attached (state=enabled, ops=other).") {
			t.Errorf("exit %d, want 1 with the conflict message:\n%s", code, out)
		}
		if strings.Contains(out, "argv:") {
			t.Error("the scheduler was launched despite the conflict")
		}
		noLeftovers(out)
	})
	t.Run("scheduler exits before attaching", func(t *testing.T) {
		code, out := run(sched, "disabled ", []string{"FAKE_SCHED_MODE=exit"})
		if code != 1 || !strings.Contains(out, "error: scheduler fake exited before attaching\n") {
			t.Errorf("exit %d, want 1 with the exited message:\n%s", code, out)
		}
		noLeftovers(out)
	})
	t.Run("scheduler never attaches", func(t *testing.T) {
		code, out := run(sched, "disabled ", []string{"FAKE_SCHED_MODE=hang", "KTSTR_ATTACH_TIMEOUT_SECS=1"})
		if code != 1 || !strings.Contains(out, "error: scheduler fake launched but did not attach within 1s\n") {
			t.Errorf("exit %d, want 1 with the attach timeout message:\n%s", code, out)
		}
		noLeftovers(out)
	})
}
