package scenario

import (
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/verdict"
)

// TestWakeEvidence: the wake-latency check knows how many wake-ups the
// work's cycle should give and fails a worker far below it, where the
// old gate (at least MinWakeSamples, else skip) let the run pass.
func TestWakeEvidence(t *testing.T) {
	bursty := func(wall time.Duration, n uint64) func(*WorkerReport) {
		return func(r *WorkerReport) {
			r.Type, r.Spec, r.Wall, r.WakeSamples = BurstyWork, Work{Type: BurstyWork}, wall, n
			r.WakeP50, r.WakeP99, r.WakeMax = time.Millisecond, 5*time.Millisecond, 9*time.Millisecond
		}
	}
	tests := []struct {
		name    string
		mutate  func(*WorkerReport)
		verdict verdict.Verdict
		want    string
	}{
		{"the issue's starved waker", bursty(7500*time.Millisecond, 12), verdict.Fail,
			"starved of wake-ups: woke 12 times in 7.5s where its 20ms burn / 30ms sleep cycle should give about 139 (9%, bound 10%)"},
		{"healthy waker", bursty(7500*time.Millisecond, 140), verdict.Pass, "p99 5.00ms"},
		{"scenario too short to judge", bursty(600*time.Millisecond, 11), verdict.Skip,
			"scenario too short to judge wake latency: its 20ms burn / 30ms sleep cycle gives about 11 wake-ups in 0.6s, a p99 needs 100"},
		{"short of samples, not starved: the samples there are pass", bursty(7500*time.Millisecond, 60), verdict.Pass,
			"max 9.00ms over 60 samples (fewer than the 100 a p99 needs: the max is judged, bound 1000.00ms)"},
		{"short of samples, not starved: one host hiccup passes", func(r *WorkerReport) {
			bursty(7500*time.Millisecond, 82)(r)
			r.WakeMax = 565 * time.Millisecond
		}, verdict.Pass, "max 565.00ms over 82 samples"},
		{"short of samples, not starved: a waker left waiting fails", func(r *WorkerReport) {
			bursty(7500*time.Millisecond, 60)(r)
			r.WakeMax = 1500 * time.Millisecond
		}, verdict.Fail, "wake latency max 1500.00ms over 60 samples"},
		// A healthy global FIFO with spinners beside a 1 ms / 1 ms waker:
		// each wake-up waits about a slice, so it wakes far less often
		// than its bare cycle, as often as its latency allows.
		{"late wake-ups explain the shortfall", func(r *WorkerReport) {
			r.Type, r.Spec, r.Wall, r.WakeSamples = MixedWork, Work{Type: MixedWork}, 4700*time.Millisecond, 63
			r.WakeP50, r.WakeP99, r.WakeMax = 60*time.Millisecond, 90*time.Millisecond, 95*time.Millisecond
		}, verdict.Pass, "max 95.00ms over 63 samples"},
		{"late wake-ups that do not explain it", func(r *WorkerReport) {
			r.Type, r.Spec, r.Wall, r.WakeSamples = MixedWork, Work{Type: MixedWork}, 4700*time.Millisecond, 5
			r.WakeP50, r.WakeMax = 60*time.Millisecond, 95*time.Millisecond
		}, verdict.Fail, "with the 60.00ms its wake-ups took (p50), should give about 71"},
		{"parameters change the expectation", func(r *WorkerReport) {
			bursty(7500*time.Millisecond, 12)(r)
			r.Spec = Work{Type: BurstyWork, Burn: 200 * time.Millisecond, Sleep: 300 * time.Millisecond}
		}, verdict.Skip, "its 200ms burn / 300ms sleep cycle gives about 15"},
		{"sequence counts its sleeps", func(r *WorkerReport) {
			r.Type, r.Wall, r.WakeSamples = SequenceWork, 2*time.Second, 20
			r.Spec = Sequence(Burn(5*time.Millisecond), Sleep(time.Millisecond), Yield(2*time.Millisecond), Sleep(2*time.Millisecond))
		}, verdict.Fail, "woke 20 times in 2.0s where 2 sleep(s) in its 10ms cycle should give about 222"},
		{"spin times no wake-ups", nil, verdict.Skip, "spin work times no wake-ups"},
		{"mutex wake-ups depend on contention", func(r *WorkerReport) {
			r.Type, r.Spec, r.WakeSamples = MutexContentionWork, MutexContention(4, 1), 5
		}, verdict.Skip, "depend on contention"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := report("cg", 0, tt.mutate)
			d := DefaultAssert().checkWake(&r)
			if d.Verdict != tt.verdict || !strings.Contains(d.Message, tt.want) {
				t.Errorf("got %s %q, want %s containing %q", d.Verdict, d.Message, tt.verdict, tt.want)
			}
		})
	}
	// For the record: without the evidence judgement the starved waker
	// is judged only by the few samples it has, and passes.
	old := DefaultAssert()
	old.MinWakeEvidence = 0
	r := report("cg", 0, bursty(7500*time.Millisecond, 12))
	if d := old.checkWake(&r); d.Verdict != verdict.Pass {
		t.Errorf("without evidence judgement: %s %q", d.Verdict, d.Message)
	}
}

// TestStarvedWorkerJudgedFromOutside: a worker that sent no report is
// judged by what the collector saw of its threads, and every check says
// it was starved and by how much.
func TestStarvedWorkerJudgedFromOutside(t *testing.T) {
	r := report("cg_1", 0, func(r *WorkerReport) {
		r.Type, r.Spec = BurstyWork, Work{Type: BurstyWork}
		r.Errors = []string{"worker sent no report within the stop timeout"}
		r.FromOutside, r.Work, r.CPUs = true, 0, CPUSet{}
		r.Outside = &OutsideView{Wall: 6 * time.Second, CPUTime: 12 * time.Millisecond, LongestWait: 5900 * time.Millisecond, LongestWaitTID: 77, Samples: 24}
		r.Wall, r.CPUTime = r.Outside.Wall, r.Outside.CPUTime
		r.Gaps = []Gap{{Start: r.StartMono + int64(50*time.Millisecond), End: r.StartMono + int64(5950*time.Millisecond), CPU: -1, TID: 77}}
		r.excuse(nil)
	})
	res := DefaultAssert().Evaluate([]WorkerReport{r})
	if res.Verdict != verdict.Fail {
		t.Fatalf("verdict %s: %v", res.Verdict, res.Details)
	}
	const starved = "starved: ran 12 ms of 6.0 s, longest wait 5.9 s"
	for _, check := range []string{"worker", "not_stuck", "work", "wake_latency"} {
		var found bool
		for _, d := range res.Failures() {
			if d.Check == check {
				found = true
				if !strings.Contains(d.Message, starved) {
					t.Errorf("%s: %q lacks %q", check, d.Message, starved)
				}
			}
		}
		if !found {
			t.Errorf("check %s did not fail: %v", check, res.Details)
		}
	}
}

func TestPlacementCheck(t *testing.T) {
	tests := []struct {
		name    string
		policy  MemPolicy
		pages   map[int]uint64
		verdict verdict.Verdict
		want    string
	}{
		{"bound and on the node", BindMemory(1), map[int]uint64{1: 1024}, verdict.Pass, "100% of 1024 pages on policy nodes"},
		{"bound but elsewhere", BindMemory(1), map[int]uint64{0: 1000, 1: 24}, verdict.Fail,
			"1000 of 1024 pages on node(s) [0] outside its memory policy bind(1) (2% on policy nodes, bound 90%)"},
		{"preferred", PreferMemory(0), map[int]uint64{0: 990, 1: 10}, verdict.Pass, "99%"},
		{"interleaved evenly", InterleaveMemory(0, 1), map[int]uint64{0: 500, 1: 524}, verdict.Pass, "node0=500 node1=524"},
		{"interleave not spread", InterleaveMemory(0, 1), map[int]uint64{0: 1000, 1: 24}, verdict.Fail, "left node 1 24 of 1024 pages"},
		{"nothing resident", BindMemory(0), nil, verdict.Inconclusive, "no resident pages to locate"},
		{"relative nodes not judged", BindMemory(0).With(MpolRelativeNodes), map[int]uint64{1: 5}, verdict.Skip, "relative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := report("numa", 0, func(r *WorkerReport) { r.MemPolicy, r.PageNodes = tt.policy, tt.pages })
			d := DefaultAssert().checkPlacement(&r)
			if d.Verdict != tt.verdict || !strings.Contains(d.Message, tt.want) {
				t.Errorf("got %s %q, want %s containing %q", d.Verdict, d.Message, tt.verdict, tt.want)
			}
		})
	}
}
