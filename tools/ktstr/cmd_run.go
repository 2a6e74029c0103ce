package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/bpfmap"
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/results"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/scheds"
	_ "github.com/ktstr-go/ktstr/scheds/catalog" // the registered tests
	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/verdict"
)

// defaultTest is what `ktstr run` runs without a name: a real sched_ext
// scheduler on two cgroups of workers.
const defaultTest = "demo"

func init() { register("", newRunCmd) }

// runFlags are `ktstr run`'s flags.
type runFlags struct {
	test, kernel, junit, out string
	list, verbose, json      bool
	topology                 topology.Topology
	duration, watchdog       time.Duration
	backend                  backendValue
	// The scheduler under test: a file replacing the test's, arguments
	// appended to its command line, BPF map writes at attach.
	scheduler            string
	schedArgs, mapWrites []string
}

func newRunCmd(e *env) *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "run [NAME]",
		Short: "Boot a VM, run a registered test (default " + defaultTest + ") and print the verdict",
		Long: `Boots a VM with the test's topology (or --topology), runs the registered test
NAME in it and prints what the guest reports, what the host monitor read from
the guest's runqueues, and the verdict. --list lists the registered tests.`,
		Example: `  ktstr run
  ktstr run fifo_two_llcs --topology 2n4l2c1t --duration 10
  ktstr run --list --json
  ktstr run --scheduler ./scx_mine --sched-arg --slice-us=5000 --watchdog 3
  git bisect run ktstr run demo --kernel ./linux   # 0 good, 1 bad, 125 skip`,
		GroupID:           groupTest,
		Args:              positional("[NAME]"),
		ValidArgsFunction: completeTests,
		RunE:              func(c *cobra.Command, args []string) error { return runRun(c.Context(), e, &f, args) },
	}
	fl := c.Flags()
	fl.StringVar(&f.test, "test", "", "registered test to run (same as the NAME argument)")
	_ = c.RegisterFlagCompletionFunc("test", completeTestFlag)
	fl.BoolVar(&f.list, "list", false, "list the registered tests (those named, if any) instead of running one")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "stream the guest console to stderr")
	addTopologyFlag(c, &f.topology, "override the test's topology")
	addDurationFlag(c, &f.duration, "duration", "override the scenario duration")
	addKernelFlag(c, &f.kernel)
	addBackendFlag(c, &f.backend)
	addJSONFlag(c, &f.json, "the result (with --list: the tests)")
	addJUnitFlag(c, &f.junit)
	addOutFlag(c, &f.out, "the run's results directory (report.html, records, metrics)", ktstr.RunsRoot()+"/<id>")
	fl.StringVar(&f.scheduler, "scheduler", "", "scheduler `FILE` replacing the test's: a binary (static, or dynamic with its libraries) or a BPF object loaded by scxload (default: $"+scheds.EnvScheduler+")")
	fl.StringArrayVar(&f.schedArgs, "sched-arg", nil, "`ARG` appended to the scheduler's command line; repeatable")
	fl.StringArrayVar(&f.mapWrites, "map-write", nil, "BPF map write at each attach, read back: "+bpfmap.Syntax+"; repeatable")
	addDurationFlag(c, &f.watchdog, "watchdog", "sched_ext watchdog timeout for any scheduler, at most 30 s (default: the test's, else the scheduler's own)")
	return c
}

// schedOptions checks the scheduler flags before anything slow and puts
// them into ro; t is the test they apply to.
func (f *runFlags) schedOptions(t *ktstr.Test, ro *ktstr.RunOptions) error {
	if f.scheduler != "" {
		if _, _, err := scheds.FromPath(f.scheduler); err != nil {
			return usageErr(fmt.Errorf("--scheduler: %w", err))
		}
	} else if len(f.schedArgs) > 0 && t.Scheduler == nil && strings.TrimSpace(os.Getenv(scheds.EnvScheduler)) == "" {
		return usagef("--sched-arg: test %s runs under EEVDF, which takes no arguments; give --scheduler FILE", t.Name)
	}
	if f.watchdog > 30*time.Second {
		return usagef("--watchdog %s: sched_ext accepts at most 30s", f.watchdog)
	}
	for _, mw := range f.mapWrites {
		w, err := bpfmap.ParseWrite(mw)
		if err != nil {
			return usageErr(fmt.Errorf("--map-write: %w", err))
		}
		ro.MapWrites = append(ro.MapWrites, w)
	}
	ro.Scheduler, ro.SchedArgs, ro.Watchdog = f.scheduler, f.schedArgs, f.watchdog
	return nil
}

func runRun(ctx context.Context, e *env, f *runFlags, args []string) error {
	name, err := oneOf(args, "test", f.test, defaultTest)
	if err != nil {
		return err
	}
	if f.list {
		if len(args) == 0 && f.test == "" {
			name = ""
		}
		return listTests(e, name, f.json)
	}
	t, err := ktstr.LookupTest(name)
	if err != nil {
		return usageErr(err)
	}
	if err := checkVM(f.kernel, f.backend); err != nil {
		return err
	}
	if err := checkOutputFile("junit", f.junit); err != nil {
		return err
	}
	ro := ktstr.RunOptions{Kernel: f.kernel, Backend: string(f.backend), Topology: f.topology, Duration: f.duration, Out: f.out,
		Log: e.logger(), OnRecord: func(r guest.Record) { printRecord(e, r) }}
	if err := f.schedOptions(t, &ro); err != nil {
		return err
	}
	if f.verbose {
		ro.Console = e.stderr
	}
	start := time.Now()
	res, err := ktstr.Boot(ctx, t, ro)
	took := time.Since(start)
	rep := newRunReport(t.Name, res, err, took)
	code := exitCouldNotTest
	if err == nil {
		code = verdictExit(res)
		printRun(e, t.Name, res, took, !f.json)
	}
	if f.junit != "" {
		s := junitSuite{Name: "ktstr run"}
		msg, detail := junitMessageOf(rep)
		s.add(t.Name, took, junitOutcomeOf(rep, code), msg, detail)
		if werr := s.write(f.junit, took, start); werr != nil {
			return werr
		}
	}
	if f.json {
		if jerr := writeJSON(e.stdout, rep); jerr != nil {
			return jerr
		}
	}
	if err != nil {
		return err
	}
	return exitCode(code)
}

// printRun prints a finished run: the monitor's summary, the verdict and
// its reasons and, for a run that did not pass, the console's tail. With
// toStdout false (--json) it all goes to stderr.
func printRun(e *env, name string, res *ktstr.Result, took time.Duration, toStdout bool) {
	w := e.stdout
	if !toStdout {
		w = e.stderr
	}
	if m := res.Monitor; m != nil {
		if m.Err != "" && len(m.Samples) == 0 {
			fmt.Fprintf(w, "host monitor: off (%s)\n", m.Err)
		} else {
			fmt.Fprintf(w, "host monitor: %s\n", m.Summarize())
		}
	}
	printSummary(e, w, res.Dir, toStdout)
	if res.Watchdog != "" {
		fmt.Fprintf(w, "sched_ext watchdog in force: %s\n", res.Watchdog)
	}
	word := strings.ToUpper(res.Verdict.String())
	if toStdout {
		word = e.paint(word)
	}
	where := fmt.Sprintf("%s, %s", res.Backend, res.Topology)
	if res.Backend == ktstr.HostBackend {
		where = "on this host, without a VM"
	}
	fmt.Fprintf(w, "%s: %s (%s, %s)\n", name, word, where, took.Round(100*time.Millisecond))
	for _, r := range res.Reasons {
		fmt.Fprintf(w, "  - %s\n", r)
	}
	if !res.Passed() {
		fmt.Fprint(w, res.Explain())
	}
	if !res.Passed() && res.Verdict != verdict.Skip && res.Backend != ktstr.HostBackend {
		fmt.Fprintf(w, "--- console tail (VM exit: %s) ---\n%s\n", res.Exit.Reason, res.Exit.ConsoleTail)
	}
	if res.Dir != "" {
		fmt.Fprintf(w, "results: %s\n", filepath.Join(res.Dir, results.FileReport))
	}
}

// printSummary draws the run's per-CPU sparklines and wake-latency
// histograms: block characters and colours on a terminal, ASCII
// otherwise.
func printSummary(e *env, w io.Writer, dir string, toStdout bool) {
	if dir == "" {
		return
	}
	st := results.Style{}
	if toStdout {
		st = results.Style{Unicode: e.tty, Color: e.color}
	}
	if err := results.WriteSummary(w, dir, st); err != nil {
		e.logger().Warn("no run summary", zap.Error(err))
	}
}

// listedTest is one test as `run --list --json` prints it.
type listedTest struct {
	Name string `json:"name"`
	// Scheduler is the sched_ext ops name, or "eevdf" for the kernel's
	// default scheduler.
	Scheduler string   `json:"scheduler"`
	Topology  string   `json:"topology"`
	DurationS float64  `json:"duration_s"`
	Flags     []string `json:"flags"`
}

// listTests prints the registered tests, or only the one named.
func listTests(e *env, name string, asJSON bool) error {
	tests := ktstr.Registered()
	if name != "" {
		t, err := ktstr.LookupTest(name)
		if err != nil {
			return usageErr(err)
		}
		tests = []*ktstr.Test{t}
	}
	out := make([]listedTest, 0, len(tests))
	for _, t := range tests {
		l := listedTest{Name: t.Name, Scheduler: "eevdf", Topology: t.EffectiveTopology().String(),
			DurationS: t.EffectiveDuration().Seconds(), Flags: append([]string{}, t.Flags...)}
		if t.Scheduler != nil {
			l.Scheduler = t.Scheduler.Name
		}
		out = append(out, l)
	}
	if asJSON {
		return writeJSON(e.stdout, out)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSCHEDULER\tTOPOLOGY\tDURATION\tFLAGS")
	for _, l := range out {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%gs\t%s\n", l.Name, l.Scheduler, l.Topology, l.DurationS, strings.Join(l.Flags, ","))
	}
	return tw.Flush()
}

// printRecord shows the guest's progress on stderr as it happens.
func printRecord(e *env, r guest.Record) {
	switch r.Kind {
	case guest.KindWorkers:
		var w struct {
			Reports []scenario.WorkerReport `json:"reports"`
		}
		if r.Decode(&w) == nil && len(w.Reports) > 0 {
			fmt.Fprintf(e.stderr, "  guest +%-7s workers\n%s", r.Elapsed.Round(10*time.Millisecond), scenario.FormatReports(w.Reports))
			return
		}
		fallthrough
	case guest.KindPhase, guest.KindSched, guest.KindAssert:
		data := string(r.Data)
		if len(data) > 300 {
			data = data[:300] + "…"
		}
		fmt.Fprintf(e.stderr, "  guest +%-7s %-8s %s\n", r.Elapsed.Round(10*time.Millisecond), r.Kind, data)
	}
}
