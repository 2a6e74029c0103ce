package tests

// A scheduler developer's scheduler, configured as in production: each
// test proves one feature of docs/schedulers.md ("Configured as in
// production") on real schedulers, the in-repo ones and the kernel
// tree's scx_*.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/bpfmap"
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/scheds"
	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/verdict"
)

// twoEqualCgroups runs cg_0 and cg_1, two CPU-bound workers each, for the
// duration, judged by the default checks plus the share ratio given.
//
// Cgroups named in starved are ones the scheduler is configured to
// starve: the test judges the split (ratio), and how evenly the starved
// pair shares its few percent is noise under TCG (2% and 6% seen), so
// fairness inside them is not judged.
func twoEqualCgroups(ratio scenario.ReportCheck, starved ...string) func(*scenario.Ctx) error {
	def := func(name string) scenario.CgroupDef {
		d := scenario.Cgroup(name).Workers(2)
		if slices.Contains(starved, name) {
			d = d.Checks(func(a *scenario.Assert) { a.MaxSpread = 0 })
		}
		return d
	}
	return func(ctx *scenario.Ctx) error {
		return scenario.ExecuteScenario(ctx, scenario.Scenario{
			Name: "two_equal_cgroups",
			Steps: []scenario.Step{{
				Defs: []scenario.CgroupDef{def("cg_0"), def("cg_1")},
				Hold: scenario.Frac(1),
			}},
			Checks: []scenario.ReportCheck{ratio},
		})
	}
}

// treeBinary is a kernel-tree scheduler binary built on the host, for a
// test that names it by path; "" in the guest. Under Bazel, whose
// sandbox cannot build the kernel tree, the test is skipped.
func treeBinary(t *testing.T, name string) string {
	t.Helper()
	if guest.IsChild() || testing.Short() {
		return ""
	}
	skipWithoutTree(t)
	b, err := scheds.Build(context.Background(), scheds.BuildConfig{KernelTree: true})
	if err != nil {
		t.Fatalf("building the kernel-tree schedulers: %v", err)
	}
	return b.Tools[name]
}

// refObject is an in-repo BPF object built on the host; "" in the guest.
// Under Bazel, where scxload cannot be built either, the test is skipped.
func refObject(t *testing.T, short string) string {
	t.Helper()
	if guest.IsChild() || testing.Short() {
		return ""
	}
	if os.Getenv(ktstr.EnvSchedFiles) != "" {
		t.Skip("a BPF object given by path is loaded by a scxload built on the host, which the Bazel sandbox cannot build")
	}
	b, err := scheds.Build(context.Background(), scheds.BuildConfig{})
	if err != nil {
		t.Fatalf("building the in-repo schedulers: %v", err)
	}
	return b.Objects[short]
}

// skipWithoutTree skips a test of a kernel-tree scheduler where only the
// prebuilt in-repo scheduler files are at hand (Bazel's KTSTR_SCHED_FILES).
func skipWithoutTree(t *testing.T) {
	t.Helper()
	if os.Getenv(ktstr.EnvSchedFiles) != "" {
		t.Skip("needs the kernel tree's scx_* schedulers, which the Bazel sandbox cannot build")
	}
}

// attachedName is the ops name of the last scheduler that attached.
func attachedName(res *ktstr.Result) string {
	name := ""
	for _, r := range res.Records {
		var ev guest.SchedEvent
		if r.Kind == guest.KindSched && r.Decode(&ev) == nil && ev.Event == "attached" {
			name = ev.Name
		}
	}
	return name
}

// fifoCells is the in-repo FIFO told its cgroup parent through a flag, as
// a cell scheduler is: scxload stores it in the object's cgroup_parent.
var fifoCells = func() *scheds.Scheduler {
	s := *scheds.FIFO
	s.CgroupParent = "ktstr.cells"
	s.CgroupParentArgs = []string{"-set", "cgroup_parent={cgroup}"}
	return &s
}()

// sysctlIs checks a sysctl's value (name as /proc/sys path).
func sysctlIs(name, want string) error {
	b, err := os.ReadFile("/proc/sys/" + name)
	if err != nil || strings.TrimSpace(string(b)) != want {
		return fmt.Errorf("sysctl %s = %q (%v), want %s", name, b, err, want)
	}
	return nil
}

// cellsSetUp checks what a test of a scheduler told its cgroup parent
// "ktstr.cells" sees: the sysctl kernel.sched_rt_runtime_us set to 900000
// before the scheduler started, the scenario's cgroups under the parent,
// and the parent as the scheduler holds it in its BPF .rodata.
func cellsSetUp(ctx *scenario.Ctx) error {
	if err := sysctlIs("kernel/sched_rt_runtime_us", "900000"); err != nil {
		return err
	}
	if root := ctx.Cgroups.Root(); root != "/sys/fs/cgroup/ktstr.cells" {
		return fmt.Errorf("scenario cgroups under %s, want /sys/fs/cgroup/ktstr.cells", root)
	}
	seen, err := bpfmap.Read(".rodata", nil, "cgroup_parent")
	if err != nil {
		return err
	}
	if got := string(bytes.TrimRight(seen, "\x00")); got != "/ktstr.cells" {
		return fmt.Errorf("the scheduler holds cgroup_parent %q, want /ktstr.cells", got)
	}
	return nil
}

// TestUserSchedProductionConfig: sysctls set and read back before the
// scheduler starts, a kernel argument in /proc/cmdline, the scenario's
// cgroups under the cgroup parent, and the parent as the scheduler itself
// holds it (read from its BPF .rodata).
func TestUserSchedProductionConfig(t *testing.T) {
	ktstr.Run(t, ktstr.Opts{
		Topology:  topology.Must("1n1l2c1t"),
		Scheduler: fifoCells,
		Sysctls: []ktstr.Sysctl{
			{Key: "kernel.sched_rt_runtime_us", Value: "900000"},
			{Key: "kernel/sched_cfs_bandwidth_slice_us", Value: "3000"},
		},
		KernelArgs: []string{"ktstr_usersched_karg=42"},
		Duration:   2 * time.Second,
	}, func(ctx *scenario.Ctx) error {
		cmdline, err := os.ReadFile("/proc/cmdline")
		if err != nil || !slices.Contains(strings.Fields(string(cmdline)), "ktstr_usersched_karg=42") {
			return fmt.Errorf("/proc/cmdline %q lacks ktstr_usersched_karg=42 (%v)", cmdline, err)
		}
		if err := sysctlIs("kernel/sched_cfs_bandwidth_slice_us", "3000"); err != nil {
			return err
		}
		if err := cellsSetUp(ctx); err != nil {
			return err
		}
		if err := scenario.ExecuteDefs(ctx, scenario.Cgroup("cg_0").Workers(2)); err != nil {
			return err
		}
		if _, err := os.Stat("/sys/fs/cgroup/ktstr.cells/cg_0"); err == nil {
			return fmt.Errorf("cg_0 was not removed after the scenario")
		}
		return nil
	})
}

// TestUserSchedConfigFile: the test's config content is placed in the
// guest, substituted into the command line and taken by the in-repo
// loader: "victim=cg_0" makes ktstr_unfair starve cg_0 instead of cg_1.
func TestUserSchedConfigFile(t *testing.T) {
	ktstr.Run(t, ktstr.Opts{
		Topology:    topology.Must("1n1l2c1t"),
		Scheduler:   scheds.Unfair,
		SchedConfig: &scheds.Config{Content: "# production config\nvictim=cg_0\n", GuestName: "unfair.conf", Args: []string{"-config", "{config}"}},
		Duration:    3 * time.Second,
	}, twoEqualCgroups(scenario.ShareRatio("cg_1", "cg_0", 2, 1e6), "cg_0"))
}

// unfairFair is the BPF map write that gives ktstr_unfair's victim the
// others' slice: the scheduler becomes fair.
var unfairFair = bpfmap.Write{Map: ".data", Var: "victim_slice_us", Value: bpfmap.U64(100000)}

// TestUserSchedMapWriteChangesBehaviour: written at attach, the map write
// makes ktstr_unfair split equal cgroups evenly; TestUserSchedUnfairAsIs
// is the same run without it.
func TestUserSchedMapWriteChangesBehaviour(t *testing.T) {
	ktstr.Run(t, ktstr.Opts{
		Topology:  topology.Must("1n1l2c1t"),
		Scheduler: scheds.Unfair,
		MapWrites: []bpfmap.Write{unfairFair},
		Duration:  3 * time.Second,
	}, twoEqualCgroups(scenario.ShareRatio("cg_0", "cg_1", 0.5, 2)))
}

// TestUserSchedUnfairAsIs: without the map write ktstr_unfair fails the
// share ratio, and the test says it must (an expected failure).
func TestUserSchedUnfairAsIs(t *testing.T) {
	ktstr.Run(t, ktstr.Opts{
		Topology:   topology.Must("1n1l2c1t"),
		Scheduler:  scheds.Unfair,
		Duration:   3 * time.Second,
		ExpectFail: `share_ratio.*CPU time ratio cg_0/cg_1`,
	}, twoEqualCgroups(scenario.ShareRatio("cg_0", "cg_1", 0.5, 2)))
}

// TestUserSchedQMapMapWriteAtStep writes scx_qmap's test_error_cnt in its
// .bss halfway through: after that many enqueues the scheduler calls
// scx_bpf_error("test triggering error"), which the test expects.
// The scheduler decrements the value itself, hence Volatile.
func TestUserSchedQMapMapWriteAtStep(t *testing.T) {
	skipWithoutTree(t)
	ktstr.Run(t, ktstr.Opts{
		Topology:   topology.Must("1n1l2c1t"),
		Scheduler:  scheds.QMap,
		Duration:   4 * time.Second,
		ExpectFail: `scx_bpf_error.*test triggering error`,
	}, func(ctx *scenario.Ctx) error {
		return scenario.ExecuteSteps(ctx,
			scenario.Step{Name: "run", Defs: []scenario.CgroupDef{scenario.Cgroup("cg_0").Workers(2)}, Hold: scenario.Frac(0.4)},
			scenario.Step{Name: "arm", Ops: []scenario.Op{
				scenario.WriteBPFMap(bpfmap.Write{Map: ".bss", Var: "test_error_cnt", Value: bpfmap.U32(50), Volatile: true}),
			}, Hold: scenario.Frac(0.6)},
		)
	})
}

// stalledFor is how long sched_ext said a task failed to run ("...
// failed to run for 2.032s") in a run's reasons.
var stalledForRE = regexp.MustCompile(`failed to run for (\d+\.\d+)s`)

func stalledFor(t *testing.T, res *ktstr.Result) float64 {
	t.Helper()
	m := stalledForRE.FindStringSubmatch(strings.Join(res.Reasons, "\n"))
	if m == nil {
		t.Fatalf("no stall in the reasons (%s):\n  %s", res.Verdict, strings.Join(res.Reasons, "\n  "))
	}
	d, _ := strconv.ParseFloat(m[1], 64)
	return d
}

// qmapStalling is scx_qmap made to stall: -t 8 drops every 8th enqueue
// of a user task, which then never runs. scx_qmap's own watchdog timeout
// is 5 s (ops.timeout_ms = 5000U).
func qmapStalling(watchdog time.Duration) ktstr.Opts {
	return ktstr.Opts{
		Topology:  topology.Must("1n1l2c1t"),
		Scheduler: scheds.QMap,
		SchedArgs: []string{"-t", "8"},
		Watchdog:  watchdog,
		Duration:  12 * time.Second,
	}
}

func holdWorkers(ctx *scenario.Ctx) error {
	return scenario.ExecuteDefs(ctx, scenario.Cgroup("cg_0").Workers(2))
}

// TestUserSchedWatchdogOverride: a 2 s override kills the stalling
// kernel-tree scheduler after about 2 s of stall, not its own 5 s, and
// the result says which timeout was in force.
func TestUserSchedWatchdogOverride(t *testing.T) {
	skipWithoutTree(t)
	res := ktstr.RunResult(t, qmapStalling(2*time.Second), holdWorkers)
	if res == nil {
		return
	}
	d := stalledFor(t, res)
	t.Logf("stalled for %.3fs; watchdog %s", d, res.Watchdog)
	// The watchdog checks every timeout/2: a 2 s timeout fires 2 to 3 s
	// into the stall, plus the kworker's delay under emulation; the
	// scheduler's own 5 s never fires before 5.
	if d < 2 || d >= 4.5 {
		t.Errorf("killed after a %.3fs stall, want about 2s (2s timeout, checked every 1s), well under its own 5s", d)
	}
	if want := "2s (override; the scheduler asked for 5s)"; res.Watchdog != want {
		t.Errorf("watchdog in force %q, want %q", res.Watchdog, want)
	}
}

// TestUserSchedWatchdogOwn is the control: without an override scx_qmap
// keeps its own 5 s.
func TestUserSchedWatchdogOwn(t *testing.T) {
	skipWithoutTree(t)
	res := ktstr.RunResult(t, qmapStalling(0), holdWorkers)
	if res == nil {
		return
	}
	d := stalledFor(t, res)
	t.Logf("stalled for %.3fs; watchdog %s", d, res.Watchdog)
	if d < 5 {
		t.Errorf("killed after a %.3fs stall, want at least its own 5s", d)
	}
	if want := "5s (the scheduler's own)"; res.Watchdog != want {
		t.Errorf("watchdog in force %q, want %q", res.Watchdog, want)
	}
}

// TestUserSchedExpectedStall: the broken in-repo ktstr_stall fails for
// the stated reason, so the test passes.
func TestUserSchedExpectedStall(t *testing.T) {
	ktstr.Run(t, ktstr.Opts{
		Topology:   topology.Must("1n1l2c1t"),
		Scheduler:  scheds.Stall,
		Watchdog:   2 * time.Second,
		Duration:   5 * time.Second,
		ExpectFail: `runnable task stall`,
	}, holdWorkers)
}

// noPlaceLag is EEVDF without placement lag: a kernel-builtin scheduler
// switched by the scheduler features file.
var noPlaceLag = &scheds.Scheduler{
	Name: "eevdf_no_place_lag",
	Source: scheds.KernelBuiltin{
		Enable:  []string{"echo NO_PLACE_LAG >/sys/kernel/debug/sched/features"},
		Disable: []string{"echo PLACE_LAG >/sys/kernel/debug/sched/features"},
	},
}

// TestUserSchedKernelBuiltin: the enable command ran before the body.
func TestUserSchedKernelBuiltin(t *testing.T) {
	ktstr.Run(t, ktstr.Opts{Topology: topology.Must("1n1l2c1t"), Scheduler: noPlaceLag, Duration: time.Second},
		func(ctx *scenario.Ctx) error {
			b, err := os.ReadFile("/sys/kernel/debug/sched/features")
			if err != nil {
				return err
			}
			if !slices.Contains(strings.Fields(string(b)), "NO_PLACE_LAG") {
				return fmt.Errorf("sched features %q lack NO_PLACE_LAG", b)
			}
			if err := ctx.Scheduler.Alive(); err != nil {
				return err
			}
			return holdWorkers(ctx)
		})
}

// TestUserSchedByPath replaces a test's scheduler by a file: a kernel-tree
// binary through KTSTR_SCHEDULER, a BPF object (loaded by scxload)
// through RunOptions, as `ktstr run --scheduler` does.
func TestUserSchedByPath(t *testing.T) {
	opts := ktstr.Opts{Topology: topology.Must("1n1l2c1t"), Scheduler: scheds.FIFO, Duration: 2 * time.Second}
	t.Run("binary", func(t *testing.T) {
		if p := treeBinary(t, "scx_simple"); p != "" {
			t.Setenv(ktstr.EnvScheduler, p)
		}
		res := ktstr.RunResult(t, opts, holdWorkers)
		if res == nil {
			return
		}
		if !res.Passed() || attachedName(res) != "simple" {
			t.Fatalf("%s with %q attached: %v", res.Verdict, attachedName(res), res.Reasons)
		}
	})
	t.Run("bpf object", func(t *testing.T) {
		ro := ktstr.RunOptions{Scheduler: refObject(t, "vtime")}
		res := ktstr.RunResultWith(t, opts, ro, holdWorkers)
		if res == nil {
			return
		}
		if !res.Passed() || attachedName(res) != "ktstr_vtime" {
			t.Fatalf("%s with %q attached: %v", res.Verdict, attachedName(res), res.Reasons)
		}
	})
}

// TestUserSchedConstraintsSkip: a topology outside the test's constraints
// is skipped before anything boots, naming the mismatch.
func TestUserSchedConstraintsSkip(t *testing.T) {
	res := ktstr.RunResult(t, ktstr.Opts{
		Topology:    topology.Must("1n1l2c1t"),
		Constraints: topology.Constraints{MinCPUs: 4, SMT: true},
	}, holdWorkers)
	if res == nil {
		return
	}
	want := "topology 1n1l2c1t does not meet the test's constraints: 2 CPUs, needs at least 4; no SMT, needs SMT"
	if res.Verdict != verdict.Skip || len(res.Reasons) == 0 || !strings.HasPrefix(res.Reasons[0], want) {
		t.Fatalf("%s %q, want a skip starting %q", res.Verdict, res.Reasons, want)
	}
	if res.Exit.Duration != 0 {
		t.Errorf("a VM ran for %v", res.Exit.Duration)
	}
}

// unfairCells is ktstr_unfair told its cgroup parent through a flag.
var unfairCells = func() *scheds.Scheduler {
	s := *scheds.Unfair
	s.CgroupParent = "ktstr.cells"
	s.CgroupParentArgs = []string{"-set", "cgroup_parent={cgroup}"}
	return &s
}()

// UserSchedExport is configured as in production for the export
// end-to-end test: exported, it runs on a "bare-metal" host with the
// sysctl set, the kernel argument present, the cgroup parent given, the
// map write made by the test binary (which makes the scheduler fair),
// and the watchdog override applied by the supervisor. Its body checks
// each of them from inside; in a VM (TestRegistered) it passes the same.
var UserSchedExport = ktstr.Register("usersched_export", ktstr.Opts{
	Topology:   topology.Must("1n1l2c1t"),
	Scheduler:  unfairCells,
	Sysctls:    []ktstr.Sysctl{{Key: "kernel.sched_rt_runtime_us", Value: "900000"}},
	KernelArgs: []string{"loglevel=4"}, // ktstr's own VMs boot with it: the stand-in host has it
	MapWrites:  []bpfmap.Write{unfairFair},
	Watchdog:   3 * time.Second,
	Duration:   3 * time.Second,
}, func(ctx *scenario.Ctx) error {
	if err := cellsSetUp(ctx); err != nil {
		return err
	}
	return twoEqualCgroups(scenario.ShareRatio("cg_0", "cg_1", 0.5, 2))(ctx)
})

// userSchedExportScript runs the exported usersched_export in the VM that
// plays the bare-metal host, then prints what must be back as it was.
const userSchedExportScript = `export KTSTR_ATTACH_TIMEOUT_SECS=60
echo "--- run"
/include/usersched_export.run
echo "exit=$?"
echo "sysctl-after=$(cat /proc/sys/kernel/sched_rt_runtime_us)"
echo "state=$(cat /sys/kernel/sched_ext/state)"
echo "cgroups=$(cd /sys/fs/cgroup && ls -d ktstr* 2>/dev/null | tr '\n' ' ')"
echo "tmpdirs=$(ls -d /tmp/ktstr-export-* 2>/dev/null | tr '\n' ' ')"
echo "procs=$(for p in /proc/[0-9]*; do tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep 'ktstr-expor[t]-'; done | tr '\n' ' ')"
`

// TestUserSchedExportRunfileInVM: the .run of a test configured as in
// production applies it all on "bare metal" (a busybox VM): sysctls set
// and restored, the kernel argument checked, the cgroup fixed by the
// cgroup parent, the map write and the watchdog override made, and
// nothing left behind.
func TestUserSchedExportRunfileInVM(t *testing.T) {
	runfile, dir := exportFromThisBinary(t, "usersched_export")
	script := filepath.Join(dir, "usersched_export.sh")
	if err := os.WriteFile(script, []byte(userSchedExportScript), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	res, err := ktstr.Shell(context.Background(), ktstr.ShellOptions{
		Topology: topology.Must("1n1l2c1t"),
		Exec:     "sh /include/usersched_export.sh",
		Includes: []string{runfile, script},
		Files:    map[string]string{"/bin/bash": bashStatic},
		Stdout:   &out,
		Stderr:   &out,
	}, ktstr.RunOptions{})
	if errors.Is(err, ktstr.ErrNoKernel) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatalf("VM: %v\n%s", err, out.String())
	}
	t.Logf("VM (exit %d):\n%s", res.ExitCode, out.String())
	run := section(out.String(), "run")
	expect(t, "run", run,
		"ktstr export: launching scheduler ktstr_unfair\n",
		"ktstr-scx-watchdog: scheduler ktstr_unfair asked for no watchdog timeout (the kernel's 30s); set 3s\n",
		"ktstr: scheduler ktstr_unfair attached; sched_ext watchdog in force: 3s\n",
		"ktstr: running usersched_export on this host: duration 3s, watchdog 3s, cgroup /sys/fs/cgroup/ktstr.cells\n",
		`ktstr: mapwrite {"write":{"map":".data","var":"victim_slice_us"`,
		"ktstr: usersched_export passed\n",
		"\nexit=0\n",
		"\nsysctl-after=950000\n")
	noLeftovers(t, "run", run)
}
