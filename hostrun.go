package ktstr

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/verdict"
)

// Paths the bare-metal run depends on; variables so tests can point them
// at a fake tree.
var (
	cgroupMount  = "/sys/fs/cgroup"
	schedExtRoot = "/sys/kernel/sched_ext"
)

// dispatchTool runs the in-binary tools: `<testbin> ktstr list|manifest|run`.
// args are what follows "ktstr". It returns the process exit code.
func dispatchTool(args []string) int {
	return runTool(args, os.Stdout, os.Stderr)
}

func runTool(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		toolUsage(stderr)
		return 2
	}
	switch args[0] {
	case "list":
		return toolList(args[1:], stdout, stderr)
	case "manifest":
		return toolManifest(args[1:], stdout, stderr)
	case "run":
		return toolRun(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "ktstr: unknown in-binary command %q\n", args[0])
	toolUsage(stderr)
	return 2
}

func toolUsage(w io.Writer) {
	fmt.Fprint(w, `usage: <test binary> ktstr <command> [flags]

commands:
  list                 print the names of the exportable registered tests
  manifest NAME        print what an exporter needs to package NAME (JSON)
  run --test NAME      run one registered test on this host, without a VM
      [--duration D] [--watchdog-timeout D] [--cgroup DIR]

Export a test with 'ktstr export NAME' or 'bazel run //tools:export -- NAME'.
`)
}

// toolList prints the exportable tests, one per line; with --all, every
// registered test with the reason the others cannot be exported.
func toolList(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ktstr list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	all := fs.Bool("all", false, "list unexportable tests too, with the reason")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	for _, t := range Registered() {
		why := exportFacts(t).Exportable()
		switch {
		case why == "":
			fmt.Fprintln(stdout, t.Name)
		case *all:
			fmt.Fprintf(stdout, "%s\t(not exportable: %s)\n", t.Name, why)
		}
	}
	return 0
}

func toolManifest(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, "usage: <test binary> ktstr manifest NAME")
		return 2
	}
	t, ok := Lookup(args[0])
	if !ok {
		fmt.Fprintf(stderr, "ktstr: %v\n", unknownTestError(args[0]))
		return 1
	}
	m, err := exportManifest(t)
	if err != nil {
		fmt.Fprintf(stderr, "ktstr: %v\n", err)
		return 1
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		fmt.Fprintf(stderr, "ktstr: writing manifest: %v\n", err)
		return 1
	}
	return 0
}

// hostRun is one bare-metal run of a registered test.
type hostRun struct {
	test     *Test
	duration time.Duration
	watchdog time.Duration
	cgroup   string
	out      io.Writer
	log      *zap.Logger
}

func toolRun(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ktstr run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("test", "", "registered test to run (required)")
	dur := fs.String("duration", "", "scenario duration: seconds (30) or a Go duration (1m30s); default: the test's")
	wd := fs.String("watchdog-timeout", "", "sched_ext watchdog timeout: seconds or a Go duration; default: the test's")
	cg := fs.String("cgroup", "", "cgroup2 directory to create for the test (default /sys/fs/cgroup/ktstr-<pid>)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *name == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: <test binary> ktstr run --test NAME [--duration D] [--watchdog-timeout D] [--cgroup DIR]")
		return 2
	}
	t, ok := Lookup(*name)
	if !ok {
		fmt.Fprintf(stderr, "ktstr: %v\n", unknownTestError(*name))
		return 1
	}
	r := &hostRun{test: t, duration: t.Duration, watchdog: t.EffectiveWatchdog(), cgroup: *cg, out: stdout, log: zap.NewNop()}
	if r.duration == 0 {
		r.duration = DefaultDuration
	}
	var err error
	if *dur != "" {
		if r.duration, err = parseSeconds("--duration", *dur); err != nil {
			fmt.Fprintf(stderr, "ktstr: %v\n", err)
			return 2
		}
	}
	if *wd != "" {
		if r.watchdog, err = parseSeconds("--watchdog-timeout", *wd); err != nil {
			fmt.Fprintf(stderr, "ktstr: %v\n", err)
			return 2
		}
	}
	if r.cgroup == "" {
		r.cgroup = filepath.Join(cgroupMount, fmt.Sprintf("ktstr-%d", os.Getpid()))
	}
	v, reasons, err := r.run()
	if err != nil {
		fmt.Fprintf(stderr, "ktstr: %s: %v\n", t.Name, err)
		return 1
	}
	switch v {
	case verdict.Pass:
		fmt.Fprintf(stdout, "ktstr: %s passed\n", t.Name)
		return 0
	case verdict.Skip:
		fmt.Fprintf(stdout, "ktstr: %s skipped: %s\n", t.Name, strings.Join(reasons, "; "))
		return 0
	}
	fmt.Fprintf(stderr, "ktstr: %s: %s:\n  %s\n", t.Name, v, strings.Join(reasons, "\n  "))
	return 1
}

// parseSeconds accepts a whole number of seconds (what the .run script's
// --duration SECS documents) or a Go duration string.
func parseSeconds(flagName, s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 {
			return 0, fmt.Errorf("%s %s: must be positive", flagName, s)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s %q: want a positive number of seconds (30) or a duration (1m30s)", flagName, s)
	}
	return d, nil
}

// run checks the host, sets up the test's cgroup, runs the body and always
// tears the cgroup down. It returns the verdict and every reason behind
// it, or an error when the test could not run at all. The verdict logic
// is the guest runner's (runBody), so a test judges the same in both.
func (r *hostRun) run() (v verdict.Verdict, reasons []string, err error) {
	if err := r.checkHost(); err != nil {
		return verdict.Fail, nil, err
	}
	if err := r.makeCgroup(); err != nil {
		return verdict.Fail, nil, err
	}
	defer func() {
		if cerr := removeCgroupTree(r.cgroup); cerr != nil && err == nil {
			reasons = append(reasons, fmt.Sprintf("cleaning up: %v", cerr))
			v = v.Merge(verdict.Fail)
		}
	}()
	cfg := scenario.CtxConfig{
		Topology:   r.test.EffectiveTopology(),
		Duration:   r.duration,
		CgroupRoot: r.cgroup,
		Emit:       r.emit,
		Log:        r.log,
	}
	var sched *hostScheduler
	if s := r.test.Scheduler; s != nil {
		sched = &hostScheduler{name: s.Name}
		if err := sched.Alive(); err != nil {
			return verdict.Fail, nil, fmt.Errorf("%w; the .run script launches it before this command (run the test through the script, or attach the scheduler first)", err)
		}
		cfg.Scheduler = sched
	}
	fmt.Fprintf(r.out, "ktstr: running %s on this host: duration %s, watchdog %s, cgroup %s\n",
		r.test.Name, r.duration, watchdogString(r.watchdog), r.cgroup)
	ctx, err := scenario.NewCtx(cfg)
	if err != nil {
		return verdict.Fail, nil, fmt.Errorf("setting up the scenario: %w", err)
	}

	// The body has no context to cancel, so a signal or a hung body ends
	// the run from here: the deferred teardown kills whatever the body
	// started in its cgroups.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	done := make(chan error, 1)
	go func() { done <- r.test.Body(ctx) }()
	limit := 3*r.duration + time.Minute
	timer := time.NewTimer(limit)
	defer timer.Stop()
	var bodyErr error
	select {
	case bodyErr = <-done:
	case sig := <-sigs:
		return verdict.Fail, []string{fmt.Sprintf("interrupted by %v", sig)}, nil
	case <-timer.C:
		return verdict.Fail, []string{fmt.Sprintf("test body did not return within %s (3x duration + 1m)", limit)}, nil
	}
	res, more := judgeBody(ctx, bodyErr)
	reasons = append(reasons, more...)
	if sched != nil {
		if err := sched.Alive(); err != nil {
			reasons = append(reasons, fmt.Sprintf("after the scenario: %v", err))
			res.Verdict = res.Verdict.Merge(verdict.Fail)
		}
	}
	return res.Verdict, reasons, nil
}

func watchdogString(d time.Duration) string {
	if d == 0 {
		return "kernel default"
	}
	return d.String()
}

// emit prints a scenario record as one line; on bare metal stdout is the
// only channel.
func (r *hostRun) emit(kind string, payload any) {
	b, err := json.Marshal(payload)
	if err != nil {
		b = []byte(strconv.Quote(fmt.Sprint(payload)))
	}
	fmt.Fprintf(r.out, "ktstr: %s %s\n", kind, b)
}

func (r *hostRun) checkHost() error {
	if os.Geteuid() != 0 {
		return errors.New("must run as root (need CAP_SYS_ADMIN for sched_ext and cgroup operations)")
	}
	var st unix.Statfs_t
	if err := unix.Statfs(cgroupMount, &st); err != nil || st.Type != unix.CGROUP2_SUPER_MAGIC {
		return fmt.Errorf("%s is not a cgroup2 mount: mount cgroup2 there (mount -t cgroup2 none %s)", cgroupMount, cgroupMount)
	}
	parent := filepath.Dir(filepath.Clean(r.cgroup))
	if parent != cgroupMount && !strings.HasPrefix(parent, cgroupMount+"/") {
		return fmt.Errorf("--cgroup %s: must be a directory under %s", r.cgroup, cgroupMount)
	}
	if _, err := os.Stat(r.cgroup); err == nil {
		return fmt.Errorf("cgroup %s already exists: another ktstr run may be using it; remove it (rmdir) or pass another --cgroup", r.cgroup)
	}
	return nil
}

// makeCgroup creates the test's cgroup with the cpu and cpuset controllers
// available to the cgroups the scenario creates below it.
func (r *hostRun) makeCgroup() error {
	parent := filepath.Dir(filepath.Clean(r.cgroup))
	if err := enableControllers(parent); err != nil {
		return err
	}
	if err := os.Mkdir(r.cgroup, 0o755); err != nil {
		return fmt.Errorf("creating cgroup %s: %w", r.cgroup, err)
	}
	if err := enableControllers(r.cgroup); err != nil {
		_ = os.Remove(r.cgroup)
		return err
	}
	return nil
}

func enableControllers(dir string) error {
	have, _ := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
	var want []string
	for _, c := range []string{"cpu", "cpuset"} {
		if !containsWord(string(have), c) {
			want = append(want, "+"+c)
		}
	}
	if len(want) == 0 {
		return nil
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte(strings.Join(want, " ")), 0); err != nil {
		return fmt.Errorf("enabling %s in %s/cgroup.subtree_control: %w (is a controller missing from the kernel, or does %s hold processes?)",
			strings.Join(want, " "), dir, err, dir)
	}
	return nil
}

func containsWord(s, w string) bool {
	for _, f := range strings.Fields(s) {
		if f == w {
			return true
		}
	}
	return false
}

// removeCgroupTree kills every process left in the tree and removes its
// directories deepest first (cgroup2 refuses rmdir of a non-empty group).
func removeCgroupTree(root string) error {
	if _, err := os.Stat(root); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	// cgroup.kill (Linux 5.14) kills the whole subtree atomically; older
	// kernels get SIGKILL per listed process.
	if err := writeExisting(filepath.Join(root, "cgroup.kill"), "1"); err != nil {
		killTree(root)
	}
	var dirs []string
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	deadline := time.Now().Add(5 * time.Second)
	var last error
	for i := len(dirs) - 1; i >= 0; i-- {
		for {
			last = os.Remove(dirs[i])
			// EBUSY while killed processes are still exiting.
			if last == nil || errors.Is(last, os.ErrNotExist) || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if last != nil && !errors.Is(last, os.ErrNotExist) {
			return fmt.Errorf("removing cgroup %s: %w", dirs[i], last)
		}
	}
	return nil
}

// writeExisting writes to a control file without ever creating one.
func writeExisting(path, val string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(val)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func killTree(root string) {
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(filepath.Join(p, "cgroup.procs"))
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
				_ = unix.Kill(pid, unix.SIGKILL)
			}
		}
		return nil
	})
}

// hostScheduler is the scenario's view of a scheduler that something else
// (the .run script) launched: it can check it but not attach or detach it.
type hostScheduler struct{ name string }

func (h *hostScheduler) Name() string { return h.name }

func (h *hostScheduler) Attach() error {
	return fmt.Errorf("scheduler %s: attach is not supported in a bare-metal run (the .run script attaches it once, before the test)", h.name)
}

func (h *hostScheduler) Detach() error {
	return fmt.Errorf("scheduler %s: detach is not supported in a bare-metal run (the .run script owns the scheduler process)", h.name)
}

// Alive reports whether the expected scheduler is the attached one, by the
// same sysfs files the .run script checks.
func (h *hostScheduler) Alive() error {
	state := readTrim(filepath.Join(schedExtRoot, "state"))
	ops := readTrim(filepath.Join(schedExtRoot, "root", "ops"))
	if state != "" && state != "enabled" {
		return fmt.Errorf("scheduler %s is not attached (sched_ext state=%s)", h.name, state)
	}
	if state == "" && ops == "" {
		return fmt.Errorf("scheduler %s is not attached (%s/root/ops is empty or missing)", h.name, schedExtRoot)
	}
	if ops != "" && ops != h.name {
		return fmt.Errorf("attached sched_ext scheduler is %q, test needs %s", ops, h.name)
	}
	return nil
}

func readTrim(p string) string {
	b, _ := os.ReadFile(p)
	return strings.TrimSpace(string(b))
}
