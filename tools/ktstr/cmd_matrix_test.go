package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/guest"
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
			rc := cmdMatrix(context.Background(), []string{"-only", "eevdf", "-retries", tc.retries})
			if rc != tc.wantRC || runs != tc.wantRuns {
				t.Errorf("rc %d after %d runs, want rc %d after %d", rc, runs, tc.wantRC, tc.wantRuns)
			}
		})
	}
	if rc := cmdMatrix(context.Background(), []string{"-retries", "-1"}); rc != 2 {
		t.Errorf("-retries -1: rc %d, want 2", rc)
	}
}
