package ktstr

import (
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/verdict"
)

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
		v, want verdict.Verdict
		report  *monitor.Report
		reasons int
	}{
		{verdict.Pass, verdict.Fail, stalled, 1},
		{verdict.Fail, verdict.Fail, stalled, 1},
		{verdict.Inconclusive, verdict.Fail, stalled, 1},
		{verdict.Skip, verdict.Skip, stalled, 0},
		{verdict.Pass, verdict.Pass, nil, 0},
		{verdict.Pass, verdict.Pass, &monitor.Report{Err: "the VM ended before the first sample"}, 0},
	} {
		res := &Result{Verdict: tc.v, Monitor: tc.report}
		judgeMonitor(res, &monitor.DefaultThresholds)
		if res.Verdict != tc.want || len(res.Reasons) != tc.reasons {
			t.Errorf("%s with %v: verdict %s, reasons %q; want %s with %d reasons", tc.v, tc.report != nil, res.Verdict, res.Reasons, tc.want, tc.reasons)
		}
		if tc.reasons > 0 && !strings.Contains(res.Reasons[0], "cpu0 stalled") {
			t.Errorf("reason %q does not name the stalled CPU", res.Reasons[0])
		}
	}
}
