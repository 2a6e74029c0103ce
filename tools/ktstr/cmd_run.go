package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/results"
	"github.com/ktstr-go/ktstr/scenario"
	_ "github.com/ktstr-go/ktstr/scheds/catalog" // the registered tests
	"github.com/ktstr-go/ktstr/topology"
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
	duration                 time.Duration
	backend                  backendValue
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
	return c
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
	word := strings.ToUpper(res.Verdict.String())
	if toStdout {
		word = e.paint(word)
	}
	fmt.Fprintf(w, "%s: %s (%s, %s, %s)\n", name, word, res.Backend, res.Topology, took.Round(100*time.Millisecond))
	for _, r := range res.Reasons {
		fmt.Fprintf(w, "  - %s\n", r)
	}
	if !res.Passed() {
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
