package ktstr

import (
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/scenario"
)

// The test's bounds win over its scheduler's, which win over the defaults.
func TestMonitorThresholds(t *testing.T) {
	test, sched := &monitor.Thresholds{Sustained: 1}, &monitor.Thresholds{Sustained: 2}
	for _, tc := range []struct {
		name string
		opts Opts
		want *monitor.Thresholds
	}{
		{"defaults", Opts{}, &monitor.DefaultThresholds},
		{"scheduler without bounds", Opts{Scheduler: &scenario.Scheduler{Name: "s"}}, &monitor.DefaultThresholds},
		{"scheduler's", Opts{Scheduler: &scenario.Scheduler{Name: "s", Monitor: sched}}, sched},
		{"test's", Opts{Monitor: test, Scheduler: &scenario.Scheduler{Name: "s", Monitor: sched}}, test},
	} {
		if got := monitorThresholds(&tc.opts); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// A stall the monitor saw fails a run the guest passed, and is a reason
// for one that failed anyway; a skipped run or one without a monitor
// report is left alone.
func TestJudgeMonitor(t *testing.T) {
	stalled := &monitor.Report{Interval: 100 * time.Millisecond}
	for i := range 8 {
		stalled.Samples = append(stalled.Samples, monitor.Sample{At: time.Duration(i) * stalled.Interval,
			CPUs: []monitor.CPU{{NrRunning: 2, Clock: 42}}})
	}
	for _, tc := range []struct {
		verdict, want string
		report        *monitor.Report
		reasons       int
	}{
		{VerdictPass, VerdictFail, stalled, 1},
		{VerdictFail, VerdictFail, stalled, 1},
		{VerdictInconclusive, VerdictFail, stalled, 1},
		{VerdictSkip, VerdictSkip, stalled, 0},
		{VerdictPass, VerdictPass, nil, 0},
		{VerdictPass, VerdictPass, &monitor.Report{Err: "the VM ended before the first sample"}, 0},
	} {
		res := &Result{Verdict: tc.verdict, Monitor: tc.report}
		judgeMonitor(res, &monitor.DefaultThresholds)
		if res.Verdict != tc.want || len(res.Reasons) != tc.reasons {
			t.Errorf("%s with %v: verdict %s, reasons %q; want %s with %d reasons", tc.verdict, tc.report != nil, res.Verdict, res.Reasons, tc.want, tc.reasons)
		}
		if tc.reasons > 0 && !strings.Contains(res.Reasons[0], "cpu0 stalled") {
			t.Errorf("reason %q does not name the stalled CPU", res.Reasons[0])
		}
	}
}
