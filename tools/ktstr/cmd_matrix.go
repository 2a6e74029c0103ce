package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/results"
	"github.com/ktstr-go/ktstr/scheds/matrix"
)

func init() {
	register("matrix", "run every reference, broken and kernel-tree scheduler on a fixed scenario", cmdMatrix)
}

func cmdMatrix(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("matrix", flag.ContinueOnError)
	only := fs.String("only", "", "comma-separated row names to run (default: all)")
	backend := fs.String("backend", "auto", "VMM backend: auto, qemu, qemu-tcg")
	kernel := fs.String("kernel", "", "kernel to boot (any KTSTR_KERNEL form)")
	retries := fs.Int("retries", 0, "run a row that did not go as expected up to this many more times; a later match prints FLAKY and does not fail the run")
	explain := fs.Bool("explain", false, "after each failing row, print its timeline around the failure and its auto-repro's probes (each row's results directory has them either way)")
	out := fs.String("out", "", "results directory: one run per row and an index.html (default: a new one under "+ktstr.RunsRoot()+")")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *retries < 0 {
		fmt.Fprintf(os.Stderr, "ktstr matrix: -retries %d: want 0 or more\n", *retries)
		return 2
	}
	want := map[string]bool{}
	for _, n := range strings.Split(*only, ",") {
		if n != "" {
			want[n] = true
		}
	}
	opts := ktstr.RunOptions{Backend: *backend, Kernel: *kernel}
	if *out == "" {
		*out = filepath.Join(ktstr.RunsRoot(), results.NewID("matrix", time.Now()))
	}
	var cases []results.IndexCase
	// Fixed widths rather than a tabwriter: rows print as each VM ends.
	fmt.Printf(matrixRowFmt, "SCHEDULER", "EXPECTED", "ACTUAL", "MATCH", "TIME", "REASON")
	allOK, ran := true, 0
	var flaky []string
	for _, r := range matrix.Rows {
		if len(want) > 0 && !want[r.Name] {
			continue
		}
		ran++
		ok, wrote := false, false
		// A retry replaces the row's earlier run in the results.
		opts.Out = filepath.Join(*out, r.Name)
		for attempt := 0; attempt <= *retries && !ok && ctx.Err() == nil; attempt++ {
			var dir string
			ok, dir = runMatrixRow(ctx, r, opts, attempt > 0, *explain)
			wrote = wrote || dir != ""
			if ok && attempt > 0 {
				flaky = append(flaky, r.Name)
			}
		}
		allOK = allOK && ok
		if wrote {
			cases = append(cases, results.IndexCase{Name: r.Name, Dir: r.Name, Expected: r.Expect.String(), Match: &ok})
		}
		if ctx.Err() != nil {
			break
		}
	}
	if ran == 0 {
		fmt.Fprintf(os.Stderr, "ktstr matrix: -only %q matched no row\n", *only)
		return 2
	}
	if len(flaky) > 0 {
		fmt.Printf("flaky (mismatched, then matched on a retry): %s\n", strings.Join(flaky, ", "))
	}
	if len(cases) > 0 {
		if err := results.WriteIndex(*out, "ktstr matrix", cases); err != nil {
			fmt.Fprintf(os.Stderr, "ktstr matrix: %v\n", err)
		} else {
			fmt.Printf("results: %s\n", filepath.Join(*out, results.FileIndexHTML))
		}
	}
	if !allOK {
		return 1
	}
	return 0
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
func runMatrixRow(ctx context.Context, r matrix.Row, opts ktstr.RunOptions, retry, explain bool) (ok bool, dir string) {
	rt, _ := ktstr.Lookup(r.TestName())
	t0 := time.Now()
	res, err := matrixBoot(ctx, rt, opts)
	actual, reason := "error", ""
	if err != nil {
		reason = err.Error()
	} else {
		actual, reason = res.Verdict.String(), strings.Join(res.Reasons, "; ")
	}
	ok = actual == r.Expect.String() && (r.Reason == "" || regexp.MustCompile(r.Reason).MatchString(reason))
	mark := "ok"
	switch {
	case !ok:
		mark = "MISMATCH"
	case retry:
		mark = "FLAKY"
	}
	exp := r.Expect.String()
	if r.Reason != "" {
		exp += " (" + r.Reason + ")"
	}
	fmt.Printf(matrixRowFmt, r.Name, exp, actual, mark, time.Since(t0).Round(time.Second), oneLine(reason, 160))
	if !ok && res != nil {
		fmt.Print(mismatchDetail(res))
	}
	if res != nil {
		if explain {
			var b strings.Builder
			prefixLines(&b, "    ", res.Explain(), 0)
			fmt.Print(b.String())
		}
		dir = res.Dir
	}
	return ok, dir
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

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "..."
	}
	return s
}
