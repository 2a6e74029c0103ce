package scenario

import (
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/verdict"
)

func TestPercentile(t *testing.T) {
	s := []int64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	for _, tt := range []struct {
		p    float64
		want int64
	}{{50, 5}, {90, 9}, {99, 10}, {100, 10}, {0, 1}, {10, 1}, {11, 2}} {
		if got := Percentile(s, tt.p); got != tt.want {
			t.Errorf("p%g = %d, want %d", tt.p, got, tt.want)
		}
	}
	if Percentile(nil, 50) != 0 {
		t.Error("empty percentile")
	}
	if Percentile([]int64{7}, 99) != 7 {
		t.Error("single sample")
	}
}

func TestSpread(t *testing.T) {
	for _, tt := range []struct {
		in   []float64
		want float64
	}{{[]float64{1, 1, 1}, 0}, {[]float64{0.5, 1.5}, 1}, {[]float64{2}, 0}, {nil, 0}, {[]float64{0, 0}, 0}, {[]float64{0.4, 0.5, 0.6}, 0.4}} {
		if got := Spread(tt.in); got < tt.want-1e-9 || got > tt.want+1e-9 {
			t.Errorf("Spread(%v) = %g, want %g", tt.in, got, tt.want)
		}
	}
}

func TestExcuseGaps(t *testing.T) {
	ms := int64(time.Millisecond)
	r := WorkerReport{StartMono: 1000 * ms, Gaps: []Gap{
		{Start: 2000 * ms, End: 4000 * ms, CPU: 1, TID: 7}, // 2 s, mostly frozen
		{Start: 5000 * ms, End: 5300 * ms, CPU: 0, TID: 8}, // 300 ms
	}}
	r.excuse(nil)
	if r.MaxGap != 2*time.Second || r.MaxGapCPU != 1 || r.MaxGapTID != 7 || r.MaxGapAt != time.Second {
		t.Errorf("no excuse: %v cpu%d tid %d at %v", r.MaxGap, r.MaxGapCPU, r.MaxGapTID, r.MaxGapAt)
	}
	r.excuse([]Interval{{1900 * ms, 3800 * ms}})
	if r.MaxGap != 300*time.Millisecond || r.MaxGapTID != 8 {
		t.Errorf("frozen 1.9-3.8 s: max gap %v tid %d, want 300ms tid 8", r.MaxGap, r.MaxGapTID)
	}
	r.excuse([]Interval{{2500 * ms, 3000 * ms}})
	if r.MaxGap != time.Second || r.MaxGapAt != 2*time.Second {
		t.Errorf("hole in the middle: %v at %v, want 1s at 2s", r.MaxGap, r.MaxGapAt)
	}
}

func report(cg string, idx int, mutate func(*WorkerReport)) WorkerReport {
	r := WorkerReport{Cgroup: cg, Index: idx, PID: 100 + idx, TIDs: []int{100 + idx}, Type: SpinWork,
		Wall: 2 * time.Second, Work: 1000, CPUTime: time.Second, MaxGap: 20 * time.Millisecond, MaxGapCPU: 0,
		CPUs: MustParseCPUSet("0-1"), Allowed: MustParseCPUSet("0-1"), Bounded: true}
	if mutate != nil {
		mutate(&r)
	}
	return r
}

func TestAssertChecks(t *testing.T) {
	a := DefaultAssert()
	tests := []struct {
		name    string
		reports []WorkerReport
		verdict verdict.Verdict
		want    []string // substrings of failure messages
	}{
		{"healthy", []WorkerReport{report("cg", 0, nil), report("cg", 1, nil)}, verdict.Pass, nil},
		{"stuck", []WorkerReport{report("cg", 0, func(r *WorkerReport) {
			r.MaxGap, r.MaxGapTID, r.MaxGapCPU, r.MaxGapAt = 3200*time.Millisecond, 123, 1, 5200*time.Millisecond
		})}, verdict.Fail, []string{"tid 123 stuck 3200 ms on cpu1 at +5.2s"}},
		{"idle may starve", []WorkerReport{report("cg", 0, func(r *WorkerReport) {
			r.MaxGap, r.Policy, r.Work = 10*time.Second, IdlePolicy, 0
		})}, verdict.Pass, nil},
		{"isolation", []WorkerReport{report("iso", 0, func(r *WorkerReport) {
			r.TIDs, r.CPUs, r.Allowed = []int{321}, MustParseCPUSet("0-1"), MustParseCPUSet("1")
		})}, verdict.Fail, []string{"worker iso/w0 (tid 321) ran on cpu0 outside its cpuset 1"}},
		{"unbounded is not isolation", []WorkerReport{report("cg", 0, func(r *WorkerReport) {
			r.Bounded, r.Allowed, r.CPUs = false, CPUSet{}, MustParseCPUSet("0-7")
		})}, verdict.Pass, nil},
		{"no work", []WorkerReport{report("cg", 0, func(r *WorkerReport) { r.Work = 0 })}, verdict.Fail, []string{"got 1000 ms of CPU in 2.0s but did no work"}},
		{"unfair", []WorkerReport{report("cg", 0, nil), report("cg", 1, func(r *WorkerReport) { r.CPUTime = 300 * time.Millisecond })},
			verdict.Fail, []string{"spread 108% in the share of runnable time", "cg/w1 (tid 101)"}},
		{"kept waiting: unfair", []WorkerReport{
			report("cg", 0, func(r *WorkerReport) { r.RunDelay, r.Timeslices = 200*time.Millisecond, 100 }),
			report("cg", 1, func(r *WorkerReport) {
				r.CPUTime, r.RunDelay, r.Timeslices = 300*time.Millisecond, 1700*time.Millisecond, 100
			}),
		}, verdict.Fail, []string{"spread 139%", "min 15% cg/w1 (tid 101), max 83% cg/w0"}},
		{"not runnable is not unfair", []WorkerReport{
			report("cg", 0, func(r *WorkerReport) { r.RunDelay, r.Timeslices = 200*time.Millisecond, 100 }),
			report("cg", 1, func(r *WorkerReport) {
				r.CPUTime, r.RunDelay, r.Timeslices = 300*time.Millisecond, 60*time.Millisecond, 100
			}),
		}, verdict.Pass, nil},
		{"unequal workers are not compared", []WorkerReport{report("cg", 0, nil), report("cg", 1, func(r *WorkerReport) {
			r.CPUTime, r.Nice = 300*time.Millisecond, 10
		})}, verdict.Pass, nil},
		{"different cgroups are not compared", []WorkerReport{report("a", 0, nil), report("b", 0, func(r *WorkerReport) { r.CPUTime = 100 * time.Millisecond })}, verdict.Pass, nil},
		{"too little cpu to judge", []WorkerReport{report("cg", 0, func(r *WorkerReport) { r.CPUTime = time.Millisecond }), report("cg", 1, func(r *WorkerReport) { r.CPUTime = 30 * time.Millisecond })},
			verdict.Inconclusive, nil},
		{"too short a life to judge fairness", []WorkerReport{
			report("cg", 0, func(r *WorkerReport) { r.Wall, r.CPUTime = time.Second, 380*time.Millisecond }),
			report("cg", 1, func(r *WorkerReport) { r.Wall, r.CPUTime = time.Second, 60*time.Millisecond }),
		}, verdict.Pass, nil},
		{"wake p99", []WorkerReport{report("cg", 0, func(r *WorkerReport) {
			r.Type, r.WakeSamples, r.WakeP50, r.WakeP99 = TimerWork, 1000, time.Millisecond, 700*time.Millisecond
		})}, verdict.Fail, []string{"wake latency p99 700.00ms"}},
		{"few wake samples, as the work gives", []WorkerReport{report("cg", 0, func(r *WorkerReport) {
			r.Type, r.Wall, r.WakeSamples, r.WakeP99 = BurstyWork, 500*time.Millisecond, 9, time.Second
		})}, verdict.Pass, nil},
		{"worker error", []WorkerReport{report("cg", 0, func(r *WorkerReport) { r.Errors = []string{"worker sent no report: signal: killed"} })},
			verdict.Fail, []string{"signal: killed"}},
		{"two failures, both reported", []WorkerReport{
			report("cg", 0, func(r *WorkerReport) { r.Work = 0 }),
			report("cg2", 0, func(r *WorkerReport) { r.CPUs = MustParseCPUSet("5") }),
		}, verdict.Fail, []string{"did no work", "ran on cpu5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := a.Evaluate(tt.reports)
			if res.Verdict != tt.verdict {
				t.Errorf("verdict %s, want %s; details %v", res.Verdict, tt.verdict, res.Details)
			}
			var msgs []string
			for _, d := range res.Failures() {
				msgs = append(msgs, d.Message)
			}
			all := strings.Join(msgs, "\n")
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("failures %q lack %q", all, w)
				}
			}
		})
	}
}

func TestMigrationCheck(t *testing.T) {
	a := Assert{MaxMigrationRatio: 0.5}
	r := report("cg", 0, func(r *WorkerReport) { r.Migrations, r.VoluntarySwitches, r.InvoluntarySwitches = 80, 50, 50 })
	if res := a.Evaluate([]WorkerReport{r}); res.Verdict != verdict.Fail || !strings.Contains(res.Details[0].Message, "ratio 0.80") {
		t.Errorf("migration ratio 0.8 vs 0.5: %+v", res)
	}
	r.Migrations = 10
	if res := a.Evaluate([]WorkerReport{r}); res.Verdict != verdict.Pass {
		t.Errorf("migration ratio 0.1 vs 0.5: %+v", res)
	}
}

func TestShareRatio(t *testing.T) {
	reps := map[string][]WorkerReport{
		"heavy": {report("heavy", 0, func(r *WorkerReport) { r.CPUTime = 800 * time.Millisecond }), report("heavy", 1, func(r *WorkerReport) { r.CPUTime = 800 * time.Millisecond })},
		"light": {report("light", 0, func(r *WorkerReport) { r.CPUTime = 400 * time.Millisecond })},
	}
	if d := ShareRatio("heavy", "light", 2, 8)(nil, reps); d[0].Verdict != verdict.Pass {
		t.Errorf("ratio 4 in 2..8: %+v", d)
	}
	if d := ShareRatio("heavy", "light", 5, 8)(nil, reps); d[0].Verdict != verdict.Fail || !strings.Contains(d[0].Message, "= 4.00") {
		t.Errorf("ratio 4 in 5..8: %+v", d)
	}
	if d := ShareRatio("heavy", "none", 1, 2)(nil, reps); d[0].Verdict != verdict.Inconclusive {
		t.Errorf("missing cgroup: %+v", d)
	}
}

// TestFairnessShortLifeSaysWhy: a spread over too short a life is a skip
// that names the window and the spread it saw, never a silent pass.
func TestFairnessShortLifeSaysWhy(t *testing.T) {
	res := DefaultAssert().Evaluate([]WorkerReport{
		report("a", 0, func(r *WorkerReport) { r.Wall, r.CPUTime = 1100*time.Millisecond, 420*time.Millisecond }),
		report("a", 1, func(r *WorkerReport) { r.Wall, r.CPUTime = 1100*time.Millisecond, 66*time.Millisecond }),
	})
	var msg string
	for _, d := range res.Skipped {
		if d.Check == "fairness" {
			msg = d.Message
		}
	}
	for _, w := range []string{"lived 1.1s on average", "too short to judge fairness", "need 2s", "spread was 146%"} {
		if !strings.Contains(msg, w) {
			t.Errorf("fairness skip %q lacks %q", msg, w)
		}
	}
}
