package ktstr

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/guest"
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
		judgeMonitor(res, &monitor.DefaultThresholds, nil)
		if res.Verdict != tc.want || len(res.Reasons) != tc.reasons {
			t.Errorf("%s with %v: verdict %s, reasons %q; want %s with %d reasons", tc.v, tc.report != nil, res.Verdict, res.Reasons, tc.want, tc.reasons)
		}
		if tc.reasons > 0 && !strings.Contains(res.Reasons[0], "cpu0 stalled") {
			t.Errorf("reason %q does not name the stalled CPU", res.Reasons[0])
		}
	}
}

// TestMonitorWindowsFromHolds: hold records, placed on the monitor's
// clock by when they arrived, become the windows the load's shape is
// judged in; a hold the run ended inside stays open.
func TestMonitorWindowsFromHolds(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	c := collected{monitor: &monitor.Report{Start: t0}}
	hold := func(step int, end bool) guest.Record {
		return record(t, guest.KindHold, 0, guest.Hold{Step: step, End: end})
	}
	c.note(record(t, guest.KindPhase, 0, map[string]any{}), t0.Add(500*time.Millisecond))
	c.note(hold(1, false), t0.Add(time.Second))
	c.note(hold(1, true), t0.Add(3*time.Second))
	c.note(hold(2, false), t0.Add(4*time.Second))
	got := c.monitorWindows()
	want := []monitor.Window{{From: time.Second, To: 3 * time.Second}, {From: 4 * time.Second, To: time.Duration(math.MaxInt64)}}
	if !slices.Equal(got, want) {
		t.Errorf("windows %v, want %v", got, want)
	}
	if w := (&collected{}).monitorWindows(); w != nil {
		t.Errorf("no monitor: windows %v, want none", w)
	}
}
