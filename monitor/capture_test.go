package monitor

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Run asks OnStall about a CPU once per stall, while it still stands
// still, and only about a CPU that stalls: cpu0's vCPU gets no host time
// (the host did not run it), cpu1's does, and neither clock moves.
func TestRunCapturesStall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const samples = CaptureAfter + 6
	var calls int
	var asked []int
	r := Run(ctx, testKernel, bootedGuest(2), Config{
		CPUs: 2, Interval: time.Millisecond,
		VCPUTimes: func() ([]time.Duration, error) {
			calls++
			if calls == samples {
				cancel()
			}
			return []time.Duration{time.Second, time.Duration(calls) * 10 * time.Millisecond}, nil
		},
		OnStall: func(cpu int) string {
			asked = append(asked, cpu)
			return fmt.Sprintf("spin_loop (cpu %d)", cpu)
		},
	})
	if len(r.Samples) < CaptureAfter+2 {
		t.Fatalf("%d samples (error %q), want at least %d", len(r.Samples), r.Err, CaptureAfter+2)
	}
	if len(asked) != 1 || asked[0] != 1 {
		t.Fatalf("OnStall asked about CPUs %v, want [1] once", asked)
	}
	want := Capture{CPU: 1, At: r.Samples[CaptureAfter].At, Where: "spin_loop (cpu 1)"}
	if len(r.Captures) != 1 || r.Captures[0] != want {
		t.Errorf("captures %+v, want [%+v]", r.Captures, want)
	}
	// The bounds quote it in the stall they report.
	v := Thresholds{FailOnStall: true, Sustained: 5}.Evaluate(r)
	if len(v) != 1 || !strings.Contains(v[0], "cpu1 stalled") || !strings.Contains(v[0], "its vCPU was in spin_loop (cpu 1)") {
		t.Errorf("violations %q, want cpu1's stall quoting the capture", v)
	}
}

func TestStallWatch(t *testing.T) {
	stall := func(k int) [][]CPU { return frozen(ticking(2, 1), k, 1, 50*time.Millisecond) }
	for _, tc := range []struct {
		name    string
		samples [][]CPU
		want    []time.Duration // when captures are taken (sample times)
	}{
		{"healthy", ticking(10, 1), nil},
		{"a short stall", stall(CaptureAfter - 1), nil},
		{"a stall, once", stall(CaptureAfter + 5), []time.Duration{time.Duration(1+CaptureAfter) * 100 * time.Millisecond}},
		{"idle", frozen(ticking(2, 0), 10, 0, 50*time.Millisecond), nil},
		{"not run by the host", frozen(ticking(2, 1), 10, 1, time.Millisecond), nil},
		{"two stalls", append(stall(CaptureAfter), frozen([][]CPU{{{NrRunning: 1, Clock: 9e9, VCPUTime: time.Minute}}}, CaptureAfter, 1, 50*time.Millisecond)...),
			[]time.Duration{time.Duration(1+CaptureAfter) * 100 * time.Millisecond, time.Duration(2+2*CaptureAfter) * 100 * time.Millisecond}},
		{"at most maxCaptures", manyStalls(maxCaptures + 3), make([]time.Duration, maxCaptures)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := series(tc.samples...)
			w := stallWatch{onStall: func(cpu int) string { return "here" }}
			for i := 1; i < len(rep.Samples); i++ {
				w.observe(rep.Samples[i-1], rep.Samples[i], rep)
			}
			if len(rep.Captures) != len(tc.want) {
				t.Fatalf("captures %+v, want %d", rep.Captures, len(tc.want))
			}
			for i, c := range rep.Captures {
				if tc.want[i] != 0 && c.At != tc.want[i] || c.CPU != 0 || c.Where != "here" {
					t.Errorf("capture %d: %+v, want cpu 0 at %v", i, c, tc.want[i])
				}
			}
		})
	}
}

// manyStalls is n stalls of CaptureAfter intervals, each after one tick.
func manyStalls(n int) [][]CPU {
	s := ticking(1, 1)
	for i := range n {
		last := s[len(s)-1][0]
		s = append(s, []CPU{{NrRunning: 1, Clock: last.Clock + uint64(i+1), VCPUTime: last.VCPUTime + time.Second}})
		s = frozen(s, CaptureAfter, 1, 50*time.Millisecond)
	}
	return s
}

// Evaluate quotes a capture only in the stall it was taken during.
func TestEvaluateQuotesCapture(t *testing.T) {
	r := series(frozen(ticking(3, 1), 6, 1, 50*time.Millisecond)...) // stall from 300ms to 800ms
	for _, tc := range []struct {
		name string
		cp   Capture
		want bool
	}{
		{"during the stall", Capture{CPU: 0, At: 500 * time.Millisecond, Where: "csd_lock_wait+0x1c"}, true},
		{"before it", Capture{CPU: 0, At: 100 * time.Millisecond, Where: "csd_lock_wait+0x1c"}, false},
		{"another CPU", Capture{CPU: 1, At: 500 * time.Millisecond, Where: "csd_lock_wait+0x1c"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r.Captures = []Capture{tc.cp}
			v := DefaultThresholds.Evaluate(r)
			if len(v) != 1 {
				t.Fatalf("violations %q, want the stall", v)
			}
			if got := strings.Contains(v[0], "; at 500ms its vCPU was in csd_lock_wait+0x1c"); got != tc.want {
				t.Errorf("%q quotes the capture: %v, want %v", v[0], got, tc.want)
			}
		})
	}
}
