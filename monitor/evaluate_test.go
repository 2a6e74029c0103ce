package monitor

import (
	"strings"
	"testing"
	"time"
)

// series builds a report from per-sample CPU states.
func series(cpus ...[]CPU) *Report {
	r := &Report{Interval: 100 * time.Millisecond}
	for i, c := range cpus {
		r.Samples = append(r.Samples, Sample{At: time.Duration(i) * r.Interval, CPUs: c})
	}
	return r
}

// ticking is a busy CPU whose clock advances every sample.
func ticking(n int, running uint32) [][]CPU {
	var out [][]CPU
	for i := range n {
		out = append(out, []CPU{{NrRunning: running, Clock: uint64(i) * 1e8, VCPUTime: time.Duration(i) * 50 * time.Millisecond}})
	}
	return out
}

// frozen appends k samples after s in which cpu 0's clock stands still
// (with nr_running and vCPU time as given per sample).
func frozen(s [][]CPU, k int, running uint32, vcpuStep time.Duration) [][]CPU {
	last := s[len(s)-1][0]
	for i := 1; i <= k; i++ {
		s = append(s, []CPU{{NrRunning: running, Clock: last.Clock, VCPUTime: last.VCPUTime + time.Duration(i)*vcpuStep}})
	}
	return s
}

func TestEvaluate(t *testing.T) {
	for _, tc := range []struct {
		name string
		th   Thresholds
		r    *Report
		want []string // substrings, one per expected message
	}{
		{"healthy", DefaultThresholds, series(ticking(20, 2)...), nil},
		{"no samples", DefaultThresholds, &Report{}, nil},
		{"stall for five samples", DefaultThresholds, series(frozen(ticking(3, 1), 5, 1, 50*time.Millisecond)...),
			[]string{"cpu0 stalled: rq clock stood still for 5 samples (500ms) with up to 1 runnable tasks"}},
		{"four samples are not sustained", DefaultThresholds, series(frozen(ticking(3, 1), 4, 1, 50*time.Millisecond)...), nil},
		{"idle CPUs stop their tick", DefaultThresholds, series(frozen(ticking(3, 0), 10, 0, 50*time.Millisecond)...), nil},
		{"a vCPU the host did not run", DefaultThresholds, series(frozen(ticking(3, 1), 10, 1, time.Millisecond)...), nil},
		{"vCPU time unknown", DefaultThresholds, series(frozen([][]CPU{{{NrRunning: 1, Clock: 5}}}, 6, 1, 0)...),
			[]string{"cpu0 stalled"}},
		{"stall check off", Thresholds{Sustained: 5}, series(frozen(ticking(3, 1), 10, 1, 50*time.Millisecond)...), nil},
		{"imbalance", Thresholds{MaxImbalance: 4, Sustained: 5}, series(repeat([]CPU{{NrRunning: 5, Clock: 1}, {NrRunning: 1, Clock: 1}}, 6)...),
			[]string{"load imbalance 5.0 (max/min nr_running) over the bound 4.0 for 6 samples"}},
		{"imbalance at the bound passes", Thresholds{MaxImbalance: 4, Sustained: 5}, series(repeat([]CPU{{NrRunning: 4}, {NrRunning: 0}}, 6)...), nil},
		{"deep local DSQ", Thresholds{MaxLocalDSQ: 50, Sustained: 2}, series(
			[]CPU{{LocalDSQ: 60}, {}}, []CPU{{LocalDSQ: 80}, {}}, []CPU{{}, {}}),
			[]string{"cpu0's local DSQ held up to 80 tasks, over the bound 50, for 2 samples"}},
		{"a broken run restarts the count", Thresholds{MaxLocalDSQ: 50, Sustained: 2}, series(
			[]CPU{{LocalDSQ: 60}}, []CPU{{}}, []CPU{{LocalDSQ: 80}}), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.th.Evaluate(tc.r)
			if len(got) != len(tc.want) {
				t.Fatalf("got %q, want %d messages like %q", got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("message %q lacks %q", got[i], w)
				}
			}
		})
	}
}

func repeat(c []CPU, n int) [][]CPU {
	out := make([][]CPU, n)
	for i := range out {
		out[i] = c
	}
	return out
}

func TestSummarize(t *testing.T) {
	r := series(
		[]CPU{{NrRunning: 2, NrSwitches: 10}, {NrRunning: 0, NrSwitches: 5, LocalDSQ: 3}},
		[]CPU{{NrRunning: 2, NrSwitches: 30}, {NrRunning: 2, NrSwitches: 6}},
	)
	s := r.Summarize()
	if s.Samples != 2 || s.Span != 100*time.Millisecond || s.MaxImbalance != 2 || s.MaxLocalDSQ != 3 || s.MeanRunning != 1.5 ||
		len(s.Switches) != 2 || s.Switches[0] != 20 || s.Switches[1] != 1 {
		t.Errorf("summary %+v", s)
	}
	if got := (&Report{}).Summarize().String(); got != "no samples" {
		t.Errorf("empty summary %q", got)
	}
}

// TestEvaluateInWindows: the load-shape checks judge only the samples
// inside the windows, a run does not carry across two windows, and a
// stall outside every window still fails.
func TestEvaluateInWindows(t *testing.T) {
	th := Thresholds{MaxImbalance: 4, Sustained: 5, FailOnStall: true}
	// 0-0.9 s balanced; 1.0-1.5 s piled up (teardown), 1.6-2.1 s balanced.
	var cpus [][]CPU
	for i := range 22 {
		n := uint32(1)
		if i >= 10 && i <= 15 {
			n = 12
		}
		cpus = append(cpus, []CPU{{NrRunning: n, Clock: uint64(i)}, {NrRunning: 1, Clock: uint64(i)}})
	}
	r := series(cpus...)
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	for _, tc := range []struct {
		name    string
		windows []Window
		want    string
	}{
		{"no windows: every sample", nil, "load imbalance 12.0"},
		{"the pile-up outside the hold", []Window{{ms(0), ms(900)}, {ms(1600), ms(2100)}}, ""},
		{"the pile-up inside the hold", []Window{{ms(0), ms(2100)}}, "for 6 samples"},
		{"split over two windows is not sustained", []Window{{ms(0), ms(1200)}, {ms(1300), ms(2100)}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(th.EvaluateIn(r, tc.windows), "\n")
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	stall := series(frozen(ticking(3, 1), 6, 1, 50*time.Millisecond)...)
	if got := th.EvaluateIn(stall, []Window{{0, ms(100)}}); len(got) != 1 || !strings.Contains(got[0], "stalled") {
		t.Errorf("a stall outside the windows: got %q, want it reported", got)
	}
}

// TestLoad: sched_ext tasks in a shared queue count for no CPU; those on
// a CPU's local DSQ, the running one and other classes' tasks do.
func TestLoad(t *testing.T) {
	for _, tc := range []struct {
		name string
		cpu  CPU
		want uint32
	}{
		{"no sched_ext", CPU{NrRunning: 6}, 6},
		{"global FIFO: five wait in the shared queue", CPU{NrRunning: 6, ScxNrRunning: 6}, 1},
		{"piled on the local DSQ", CPU{NrRunning: 6, ScxNrRunning: 6, LocalDSQ: 5}, 6},
		{"a kworker beside shared-queue tasks", CPU{NrRunning: 4, ScxNrRunning: 3, LocalDSQ: 1}, 3},
		{"inconsistent read", CPU{NrRunning: 1, ScxNrRunning: 3}, 1},
	} {
		if got := tc.cpu.Load(); got != tc.want {
			t.Errorf("%s: load %d, want %d", tc.name, got, tc.want)
		}
	}
	global := Sample{CPUs: []CPU{{NrRunning: 6, ScxNrRunning: 6}, {NrRunning: 1, ScxNrRunning: 1}}}
	if v := global.Imbalance(); v != 1 {
		t.Errorf("global FIFO imbalance %.1f, want 1", v)
	}
	piled := Sample{CPUs: []CPU{{NrRunning: 7, ScxNrRunning: 7, LocalDSQ: 6}, {NrRunning: 1, ScxNrRunning: 1}}}
	if v := piled.Imbalance(); v != 7 {
		t.Errorf("local pile-up imbalance %.1f, want 7", v)
	}
}
