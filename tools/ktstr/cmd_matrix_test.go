package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/timeline"
	"github.com/ktstr-go/ktstr/verdict"
	"github.com/ktstr-go/ktstr/vmm"
)

// A mismatching row prints what a CI log needs to diagnose it.
func TestMismatchDetail(t *testing.T) {
	died, _ := json.Marshal(guest.SchedEvent{Event: "died", Name: "flatcg", Exit: &guest.SchedExit{
		Reason: "runnable task stall", Message: "init[59] failed to run for 30.076s", After: 30871 * time.Millisecond,
		Dmesg:  "sched_ext: BPF scheduler \"flatcg\" disabled (runnable task stall)\nsched_ext: flatcg: init[59] failed to run for 30.076s",
		Output: "EXIT: runnable task stall",
	}})
	attached, _ := json.Marshal(guest.SchedEvent{Event: "attached", Name: "flatcg"})
	var console strings.Builder
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&console, "line %d\n", i)
	}
	res := &ktstr.Result{
		Reasons: []string{"scheduler fail: scheduler flatcg died", "not_stuck fail [cg_0/w1]"},
		Records: []guest.Record{{Kind: guest.KindSched, Data: attached}, {Kind: guest.KindSched, Data: died}},
		Exit:    vmm.Exit{ConsoleTail: console.String()},
	}
	got := mismatchDetail(res)
	for _, want := range []string{
		"    reason: scheduler fail: scheduler flatcg died\n",
		"    reason: not_stuck fail [cg_0/w1]\n",
		"    scheduler flatcg died 30.871s after attach: runnable task stall init[59] failed to run for 30.076s\n",
		"    dmesg| sched_ext: flatcg: init[59] failed to run for 30.076s\n",
		"    sched| EXIT: runnable task stall\n",
		"    console| line 40\n",
		"    console| line 11\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("detail lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "console| line 10\n") {
		t.Errorf("console tail not bounded to %d lines:\n%s", mismatchConsoleLines, got)
	}
	if strings.Count(got, "after attach") != 1 {
		t.Errorf("the attach event (no exit) should not print:\n%s", got)
	}
}

// A row that mismatches is rerun up to -retries times: a later match
// passes the run (and is listed as flaky), mismatches on every attempt
// fail it, and without -retries the first mismatch fails it.
func TestMatrixRetries(t *testing.T) {
	defer func(b func(context.Context, *ktstr.Test, ktstr.RunOptions) (*ktstr.Result, error)) { matrixBoot = b }(matrixBoot)
	kernelPath := fakeBzImage(t, "6.12.118")
	for _, tc := range []struct {
		name     string
		verdicts []string // eevdf's verdict per attempt
		retries  string
		wantRC   int
		wantRuns int
	}{
		{"pass first time", []string{"pass"}, "1", 0, 1},
		{"flaky", []string{"fail", "pass"}, "1", 0, 2},
		{"fails twice", []string{"fail", "fail", "pass"}, "1", 1, 2},
		{"no retries", []string{"fail", "pass"}, "0", 1, 1},
		{"boot error then pass", []string{"error", "pass"}, "2", 0, 2},
		// A row that could not run tested nothing: 125, not 1.
		{"boot error twice", []string{"error", "error"}, "1", 125, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runs := 0
			matrixBoot = func(_ context.Context, rt *ktstr.Test, _ ktstr.RunOptions) (*ktstr.Result, error) {
				v := tc.verdicts[runs]
				runs++
				if v == "error" {
					return nil, fmt.Errorf("boot failed")
				}
				pv, err := verdict.Parse(v)
				if err != nil {
					t.Fatal(err)
				}
				return &ktstr.Result{Test: rt.Name, Verdict: pv, Reasons: []string{"attempt " + fmt.Sprint(runs)}}, nil
			}
			r := ktstrCLI(t, cliOpts{}, "matrix", "--kernel", kernelPath, "--only", "eevdf", "--retries", tc.retries)
			if r.code != tc.wantRC || runs != tc.wantRuns {
				t.Errorf("rc %d after %d runs, want rc %d after %d\n%s%s", r.code, runs, tc.wantRC, tc.wantRuns, r.stdout, r.stderr)
			}
		})
	}
}

// matrix --json and --junit report every row: a broken scheduler that
// passes is a failure (exit 1), a row that could not boot an error.
func TestMatrixJSONAndJUnit(t *testing.T) {
	defer func(b func(context.Context, *ktstr.Test, ktstr.RunOptions) (*ktstr.Result, error)) { matrixBoot = b }(matrixBoot)
	kernelPath := fakeBzImage(t, "6.12.118")
	matrixBoot = func(_ context.Context, rt *ktstr.Test, _ ktstr.RunOptions) (*ktstr.Result, error) {
		if rt.Name == "matrix_ktstr_stall" {
			return nil, fmt.Errorf("booting VM: qemu exited")
		}
		return &ktstr.Result{Test: rt.Name, Verdict: verdict.Pass}, nil
	}
	junit := filepath.Join(t.TempDir(), "matrix.xml")
	r := ktstrCLI(t, cliOpts{}, "matrix", "--kernel", kernelPath, "--only", "eevdf,ktstr_unfair,ktstr_stall", "--json", "--junit", junit)
	if r.code != 1 {
		t.Errorf("exit %d, want 1 (ktstr_unfair passed though broken)\n%s", r.code, r.stderr)
	}
	var rows []matrixRow
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatalf("--json: %v\n%s", err, r.stdout)
	}
	got := map[string]string{}
	for _, row := range rows {
		got[row.Row] = fmt.Sprintf("%s/%v", row.Last.Verdict, row.Match)
	}
	want := map[string]string{"eevdf": "pass/true", "ktstr_unfair": "pass/false", "ktstr_stall": "error/false"}
	if !maps.Equal(got, want) {
		t.Errorf("rows %v, want %v", got, want)
	}
	if !strings.Contains(r.stderr, "MISMATCH") || strings.Contains(r.stdout, "MISMATCH") {
		t.Errorf("with --json the table goes to stderr, the JSON alone to stdout")
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var s junitSuite
	if err := xml.Unmarshal(b, &s); err != nil {
		t.Fatalf("JUnit XML: %v\n%s", err, b)
	}
	if s.Tests != 3 || s.Failures != 1 || s.Errors != 1 || len(s.Cases) != 3 {
		t.Errorf("suite: %d tests, %d failures, %d errors; want 3, 1, 1:\n%s", s.Tests, s.Failures, s.Errors, b)
	}
	for _, c := range s.Cases {
		switch c.Name {
		case "ktstr_unfair":
			if c.Failure == nil || !strings.Contains(c.Failure.Message, "expected fail (share_ratio fail), got pass") {
				t.Errorf("ktstr_unfair's case: %+v", c)
			}
		case "ktstr_stall":
			if c.Error == nil || !strings.Contains(c.Error.Message, "qemu exited") {
				t.Errorf("ktstr_stall's case: %+v", c)
			}
		}
	}
}

// matrix --explain prints a failed row's timeline around the failure;
// without it the row prints none.
func TestMatrixExplain(t *testing.T) {
	defer func(b func(context.Context, *ktstr.Test, ktstr.RunOptions) (*ktstr.Result, error)) { matrixBoot = b }(matrixBoot)
	kernelPath := fakeBzImage(t, "6.12.118")
	matrixBoot = func(_ context.Context, rt *ktstr.Test, _ ktstr.RunOptions) (*ktstr.Result, error) {
		return &ktstr.Result{Test: rt.Name, Verdict: verdict.Fail, Reasons: []string{"scheduler died"},
			Timeline: &timeline.Timeline{Failed: true, FailedAt: 2 * time.Second, Why: "died ktstr_stall",
				Events: []timeline.Event{{At: 2 * time.Second, Source: timeline.Sched, Text: "died ktstr_stall", Failed: true}}}}, nil
	}
	for _, tc := range []struct {
		args []string
		want bool
	}{{[]string{"--explain"}, true}, {nil, false}} {
		args := append([]string{"matrix", "--kernel", kernelPath, "--only", "ktstr_stall", "--out", ktstr.NoResults}, tc.args...)
		r := ktstrCLI(t, cliOpts{}, args...)
		if got := strings.Contains(r.stdout, "    timeline around the failure at +2s (died ktstr_stall)"); got != tc.want {
			t.Errorf("%v: timeline printed %v, want %v\n%s", tc.args, got, tc.want, r.stdout)
		}
	}
}
