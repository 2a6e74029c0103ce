package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/kernel"
	"github.com/ktstr-go/ktstr/results"
	"github.com/ktstr-go/ktstr/scheds/matrix"
)

func init() { register("", newMatrixCmd) }

// matrixFlags are `ktstr matrix`'s flags.
type matrixFlags struct {
	only               []string
	kernel, junit, out string
	retries            int
	json, explain      bool
	backend            backendValue
}

func newMatrixCmd(e *env) *cobra.Command {
	var f matrixFlags
	c := &cobra.Command{
		Use:   "matrix",
		Short: "Run every reference, broken and kernel-tree scheduler on a fixed scenario: expected vs actual verdict",
		Long: `Runs each row of the scheduler matrix (every in-repo reference and deliberately
broken sched_ext scheduler, the kernel tree's examples, and EEVDF) on one
fixed scenario in its own VM and compares the verdict with the expected one.
Exits 0 when every row matched, 1 when a row got another verdict, 125 when a
row could not run at all.`,
		Example: `  ktstr matrix
  ktstr matrix --only eevdf,ktstr_unfair --retries 1 --junit matrix.xml`,
		GroupID: groupTest,
		Args:    noArgs,
		RunE:    func(c *cobra.Command, _ []string) error { return runMatrix(c.Context(), e, &f) },
	}
	fl := c.Flags()
	fl.StringSliceVar(&f.only, "only", nil, "run only these rows (comma-separated or repeated; default all)")
	_ = c.RegisterFlagCompletionFunc("only", cobra.FixedCompletions(matrixRowNames(), cobra.ShellCompDirectiveNoFileComp))
	fl.IntVar(&f.retries, "retries", 0, "run a row that did not go as expected up to `N` more times; a later match prints FLAKY and does not fail the run")
	addKernelFlag(c, &f.kernel)
	addBackendFlag(c, &f.backend)
	addJSONFlag(c, &f.json, "the rows")
	addJUnitFlag(c, &f.junit)
	addOutFlag(c, &f.out, "one results directory per row and an index.html", ktstr.RunsRoot()+"/<id>")
	fl.BoolVar(&f.explain, "explain", false, "after each failing row, print its timeline around the failure and its auto-repro's findings (each row's results directory has them either way)")
	return c
}

// matrixRow is one row's outcome; `matrix --json` prints them.
type matrixRow struct {
	Row            string `json:"row"`
	Expected       string `json:"expected"`
	ExpectedReason string `json:"expected_reason,omitempty"`
	Match          bool   `json:"match"`
	// Flaky: the row mismatched, then matched on a retry.
	Flaky    bool `json:"flaky"`
	Attempts int  `json:"attempts"`
	// Last is the last attempt's run ("error" verdict: it could not run).
	Last runReport `json:"last"`
}

func runMatrix(ctx context.Context, e *env, f *matrixFlags) error {
	if f.retries < 0 {
		return usagef("--retries %d: want 0 or more", f.retries)
	}
	rows, err := selectRows(f.only)
	if err != nil {
		return err
	}
	if err := checkVM(f.kernel, f.backend); err != nil {
		return err
	}
	if err := checkOutputFile("junit", f.junit); err != nil {
		return err
	}
	// Every row boots the same kernel: without one, say so once instead
	// of failing each row with the same hint.
	if _, err := kernel.Resolve(ctx, kernel.ResolveOptions{Spec: f.kernel, Logger: e.logger()}); err != nil {
		return err
	}
	w := e.stdout
	if f.json {
		w = e.stderr // the human table; stdout gets the JSON
	}
	opts := ktstr.RunOptions{Backend: string(f.backend), Kernel: f.kernel, Log: e.logger()}
	start := time.Now()
	if f.out == "" {
		// A new directory: another matrix started this second keeps its own.
		dir, err := results.Claim(ktstr.RunsRoot(), results.NewID("matrix", start))
		if err != nil {
			return err
		}
		f.out = dir
	}
	// Fixed widths rather than a tabwriter: rows print as each VM ends.
	fmt.Fprintf(w, matrixRowFmt, "SCHEDULER", "EXPECTED", "ACTUAL", "MATCH", "TIME", "REASON")
	var out []matrixRow
	for _, r := range rows {
		mr := matrixRow{Row: r.Name, Expected: r.Expect.String(), ExpectedReason: r.Reason}
		if f.out != ktstr.NoResults {
			opts.Out = filepath.Join(f.out, r.Name) // a retry replaces the row's earlier run
		}
		for mr.Attempts <= f.retries && !mr.Match && ctx.Err() == nil {
			mr.Attempts++
			mr.Last, mr.Match = runMatrixRow(ctx, e, w, r, opts, mr.Attempts > 1, f.explain)
		}
		mr.Flaky = mr.Match && mr.Attempts > 1
		out = append(out, mr)
		if ctx.Err() != nil {
			break
		}
	}
	if flaky := flakyRows(out); len(flaky) > 0 {
		fmt.Fprintf(w, "flaky (mismatched, then matched on a retry): %s\n", strings.Join(flaky, ", "))
	}
	writeMatrixIndex(e, w, f.out, out)
	if f.junit != "" {
		if err := matrixJUnit(out).write(f.junit, time.Since(start), start); err != nil {
			return err
		}
	}
	if f.json {
		if err := writeJSON(e.stdout, out); err != nil {
			return err
		}
	}
	return exitCode(matrixExit(out))
}

// writeMatrixIndex writes dir/index.html over the rows that kept a
// results directory.
func writeMatrixIndex(e *env, w io.Writer, dir string, rows []matrixRow) {
	var cases []results.IndexCase
	for _, r := range rows {
		if r.Last.Dir != "" {
			match := r.Match
			cases = append(cases, results.IndexCase{Name: r.Row, Dir: r.Row, Expected: r.Expected, Match: &match})
		}
	}
	if len(cases) == 0 {
		return
	}
	if err := results.WriteIndex(dir, "ktstr matrix", cases); err != nil {
		e.logger().Warn("no matrix index", zap.Error(err))
		return
	}
	fmt.Fprintf(w, "results: %s\n", filepath.Join(dir, results.FileIndexHTML))
}

// selectRows returns the rows --only names (all without it), in matrix
// order; an unknown name is a usage error listing the known ones.
func selectRows(only []string) ([]matrix.Row, error) {
	if len(only) == 0 {
		return matrix.Rows, nil
	}
	names := matrixRowNames()
	for _, n := range only {
		if !slices.Contains(names, n) {
			return nil, usagef("--only %s: no such row; the rows are %s", n, strings.Join(names, ", "))
		}
	}
	var rows []matrix.Row
	for _, r := range matrix.Rows {
		if slices.Contains(only, r.Name) {
			rows = append(rows, r)
		}
	}
	return rows, nil
}

// matrixExit is 1 when a row got a verdict other than expected, else 125
// when a row could not run, else 0.
func matrixExit(rows []matrixRow) int {
	code := exitPass
	for _, r := range rows {
		switch {
		case r.Match:
		case r.Last.Verdict != "error":
			return exitFail
		default:
			code = exitCouldNotTest
		}
	}
	return code
}

func flakyRows(rows []matrixRow) []string {
	var out []string
	for _, r := range rows {
		if r.Flaky {
			out = append(out, r.Row)
		}
	}
	return out
}

func matrixJUnit(rows []matrixRow) *junitSuite {
	s := &junitSuite{Name: "ktstr matrix"}
	for _, r := range rows {
		took := time.Duration(r.Last.Seconds * float64(time.Second))
		msg, detail := junitMessageOf(r.Last)
		switch {
		case r.Match && r.Flaky:
			s.add(r.Row, took, junitPass, "", fmt.Sprintf("flaky: matched on attempt %d of %d\n%s", r.Attempts, r.Attempts, detail))
		case r.Match:
			s.add(r.Row, took, junitPass, "", detail)
		case r.Last.Verdict == "error":
			s.add(r.Row, took, junitError, msg, detail)
		default:
			s.add(r.Row, took, junitFailure, fmt.Sprintf("expected %s, got %s", expectation(r), msg), detail)
		}
	}
	return s
}

func expectation(r matrixRow) string {
	if r.ExpectedReason != "" {
		return r.Expected + " (" + r.ExpectedReason + ")"
	}
	return r.Expected
}

const matrixRowFmt = "%-13s %-31s %-7s %-8s %-6s %s\n"

// matrixBoot boots one row's VM; a variable so the retry logic is tested
// without a VM.
var matrixBoot = ktstr.Boot

// runMatrixRow boots one row's VM, prints its line (and what a CI log
// needs when it did not go as expected) and reports whether it matched.
// A retry that matches is marked FLAKY so the earlier mismatch stays
// visible. With explain, a failed run also prints its timeline around
// the failure and its auto-repro (Result.Explain).
func runMatrixRow(ctx context.Context, e *env, w io.Writer, r matrix.Row, opts ktstr.RunOptions, retry, explain bool) (runReport, bool) {
	rt, _ := ktstr.Lookup(r.TestName())
	t0 := time.Now()
	res, err := matrixBoot(ctx, rt, opts)
	rep := newRunReport(r.Name, res, err, time.Since(t0))
	reason := strings.Join(rep.Reasons, "; ")
	if err != nil {
		reason = rep.Error
	}
	ok := rep.Verdict == r.Expect.String() && (r.Reason == "" || regexp.MustCompile(r.Reason).MatchString(reason))
	mark := "ok"
	switch {
	case !ok:
		mark = "MISMATCH"
	case retry:
		mark = "FLAKY"
	}
	fmt.Fprintf(w, "%-13s %-31s %-7s %s %-6s %s\n", r.Name, expectation(matrixRow{Expected: r.Expect.String(), ExpectedReason: r.Reason}),
		rep.Verdict, e.paint(fmt.Sprintf("%-8s", mark)), time.Since(t0).Round(time.Second), oneLine(reason, 160))
	if !ok && res != nil {
		fmt.Fprint(w, mismatchDetail(res))
	}
	if explain && res != nil {
		var b strings.Builder
		prefixLines(&b, "    ", res.Explain(), 0)
		fmt.Fprint(w, b.String())
	}
	return rep, ok
}

// mismatchDetail is what a CI log needs to diagnose a row that did not go
// as expected: every reason in full, how the scheduler died (sched_ext's
// kernel log and the scheduler's own output), and the console tail.
func mismatchDetail(res *ktstr.Result) string {
	var b strings.Builder
	for _, r := range res.Reasons {
		fmt.Fprintf(&b, "    reason: %s\n", r)
	}
	for _, rec := range res.Records {
		var ev guest.SchedEvent
		if rec.Kind != guest.KindSched || rec.Decode(&ev) != nil || ev.Exit == nil {
			continue
		}
		fmt.Fprintf(&b, "    scheduler %s %s %s after attach: %s %s\n", ev.Name, ev.Event, ev.Exit.After.Round(time.Millisecond), ev.Exit.Reason, ev.Exit.Message)
		prefixLines(&b, "    dmesg| ", ev.Exit.Dmesg, 0)
		prefixLines(&b, "    sched| ", ev.Exit.Output, 0)
	}
	prefixLines(&b, "    console| ", res.Exit.ConsoleTail, mismatchConsoleLines)
	return b.String()
}

// mismatchConsoleLines bounds the console tail a mismatch prints.
const mismatchConsoleLines = 30

// prefixLines writes s's last max lines (all when max is 0), each after
// prefix.
func prefixLines(b *strings.Builder, prefix, s string, max int) {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return
	}
	if max > 0 && len(lines) > max {
		lines = lines[len(lines)-max:]
	}
	for _, l := range lines {
		b.WriteString(prefix + l + "\n")
	}
}
