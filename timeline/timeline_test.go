package timeline

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/probe"
	"github.com/ktstr-go/ktstr/verdict"
)

func rec(t *testing.T, kind string, elapsed time.Duration, payload any) guest.Record {
	t.Helper()
	r, err := guest.NewRecord(kind, elapsed, payload)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A stall's run: guest records (on the guest's clock, arriving 1 s after
// the VM started plus a little channel delay), monitor samples and a
// snapshot (on the host's), probe hits (placed on the guest's clock).
// Everything lands on the host's clock, in order, and the death is the
// failure.
func TestBuild(t *testing.T) {
	recs := []guest.Record{
		rec(t, guest.KindPhase, 1500*time.Millisecond, map[string]any{"name": "step 1", "hold": "4s"}),
		rec(t, guest.KindOp, 2100*time.Millisecond, guest.OpEvent{Step: 1, Op: "snapshot(mid)"}),
		rec(t, guest.KindSched, 5*time.Second, guest.SchedEvent{Event: "died", Name: "ktstr_stall",
			Exit: &guest.SchedExit{Reason: "runnable task stall", Message: "w0[70] failed to run for 2.5s"}}),
	}
	// The op's record waited least on the channel: the guest's clock is
	// 1 s behind the host's.
	arrivals := []time.Duration{2510 * time.Millisecond, 3100 * time.Millisecond, 6050 * time.Millisecond}
	mon := &monitor.Report{
		Samples:   []monitor.Sample{{At: 4 * time.Second, CPUs: []monitor.CPU{{NrRunning: 3}, {NrRunning: 1, LocalDSQ: 2}}}},
		Snapshots: []monitor.Snapshot{{Name: "a task on cpu0 waited 1s", Trigger: monitor.TriggerWatchdog, At: 4500 * time.Millisecond}},
	}
	pr := &probe.Results{Tails: []probe.Tail{{Why: "died", Hits: []probe.Hit{
		{Seq: 1, Func: "stall_dispatch", Elapsed: 4900 * time.Millisecond},
		{Seq: 2, Func: "stall_dispatch", Elapsed: 4950 * time.Millisecond},
		{Seq: 3, Func: "scx_ops_exit_kind", Elapsed: 4990 * time.Millisecond, Args: []probe.Arg{{Name: "kind", Value: "SCX_EXIT_ERROR_STALL"}}},
	}}}}
	tl := Build(Inputs{Records: recs, Arrivals: arrivals, Monitor: mon, MonitorStart: 500 * time.Millisecond,
		Probes: pr, Verdict: verdict.Fail, End: 8 * time.Second})
	var got []string
	for _, e := range tl.Events {
		got = append(got, e.At.String()+" "+e.Source)
	}
	want := []string{"2.5s step", "3.1s op", "4.5s monitor", "5s snapshot", "5.9s probe", "5.95s probe", "5.99s probe", "6s sched"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("events\n%s\nwant\n%s", strings.Join(got, ", "), strings.Join(want, ", "))
	}
	if !tl.Failed || tl.FailedAt != 6*time.Second || !strings.Contains(tl.Why, "runnable task stall") {
		t.Errorf("failure at %v (%v): %q", tl.FailedAt, tl.Failed, tl.Why)
	}
	text := tl.String()
	for _, s := range []string{
		"timeline around the failure at +6s",
		"stall_dispatch(), then 1 more calls of stall_dispatch to +5.95s",
		"scx_ops_exit_kind(kind=SCX_EXIT_ERROR_STALL)",
		"died ktstr_stall: runnable task stall: w0[70] failed to run for 2.5s  <== failure",
	} {
		if !strings.Contains(text, s) {
			t.Errorf("printed timeline lacks %q:\n%s", s, text)
		}
	}
	if strings.Contains(text, "step 1") {
		t.Errorf("the step 3.5 s before the failure is outside the window:\n%s", text)
	}
}

// A run that failed without any event saying so (a timeout) fails at
// the VM's end, with its first reason; a passing run has no failure.
func TestBuildWithoutFailureEvent(t *testing.T) {
	tl := Build(Inputs{Verdict: verdict.Fail, Reasons: []string{"timeout: 120s"}, End: 120 * time.Second})
	if !tl.Failed || tl.FailedAt != 120*time.Second || tl.Events[len(tl.Events)-1].Source != Failure {
		t.Errorf("%+v", tl)
	}
	if tl := Build(Inputs{Verdict: verdict.Pass}); tl.Failed {
		t.Errorf("a passing run failed: %+v", tl)
	}
}

// A step's hold shows where its load was in place, and where it ended.
func TestHoldEvents(t *testing.T) {
	for _, tc := range []struct {
		h    guest.Hold
		want string
	}{
		{guest.Hold{Step: 2}, "step 2's load in place: hold begins"},
		{guest.Hold{Step: 2, End: true}, "step 2's hold ends"},
	} {
		ev := recordEvents(rec(t, guest.KindHold, time.Second, tc.h), 3*time.Second)
		if len(ev) != 1 || ev[0].Text != tc.want || ev[0].Source != Step || ev[0].At != 3*time.Second {
			t.Errorf("%+v: events %+v, want one step event %q at 3s", tc.h, ev, tc.want)
		}
	}
}

// A stalled CPU seen first and the watchdog's kill seconds later: the
// view around the failure reaches past the death, and no further.
func TestAroundReachesTheDeath(t *testing.T) {
	sec := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	tl := &Timeline{Failed: true, FailedAt: sec(15.8), Events: []Event{
		{At: sec(10), Source: Monitor, Text: "too early"},
		{At: sec(13), Source: Monitor, Text: "before"},
		{At: sec(15.8), Source: Capture, Text: "cpu0 stood still", Failed: true},
		{At: sec(17.6), Source: Sched, Text: "died ktstr_stall: runnable task stall", Failed: true},
		{At: sec(18.4), Source: Monitor, Text: "after the death"},
		{At: sec(25), Source: Check, Text: "not_stuck failed", Failed: true},
	}}
	var got []string
	for _, e := range tl.Around(DefaultBefore, DefaultAfter) {
		got = append(got, e.Text)
	}
	want := []string{"before", "cpu0 stood still", "died ktstr_stall: runnable task stall", "after the death"}
	if !slices.Equal(got, want) {
		t.Errorf("Around = %q, want %q", got, want)
	}
	if s := tl.String(); !strings.Contains(s, "died ktstr_stall") {
		t.Errorf("String lacks the death:\n%s", s)
	}
}
