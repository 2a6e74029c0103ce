package scenario

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runOne spawns one worker of work, lets it run for d and returns its
// report.
func runOne(t *testing.T, work WorkSpec, d time.Duration) WorkerReport {
	t.Helper()
	w, err := SpawnWorkload(WorkloadConfig{Workers: 1, Work: work, Label: "t"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Kill()
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(d)
	reps, err := w.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if len(reps[0].Errors) > 0 {
		t.Fatalf("worker errors: %v", reps[0].Errors)
	}
	return reps[0]
}

// TestFanOutEveryWaiterWakesEveryRound: the waiters of a futex fan-out
// (and the children of a fan-out compute) all wake in every round.
func TestFanOutEveryWaiterWakesEveryRound(t *testing.T) {
	for _, work := range []Work{FutexFanOut(4), FanOutCompute(3)} {
		t.Run(string(work.Type), func(t *testing.T) {
			r := runOne(t, work, 300*time.Millisecond)
			rounds, wakes, n := r.Counters[CounterRounds], r.Counters[CounterWakes], uint64(work.Fanout)
			if rounds < 5 {
				t.Fatalf("%d rounds in 300ms", rounds)
			}
			// The stop may cut the last round short.
			if wakes > n*rounds || wakes < n*(rounds-1) {
				t.Errorf("%d wakes in %d rounds of %d waiters: want %d×rounds", wakes, rounds, n, n)
			}
			if r.WakeSamples < wakes {
				t.Errorf("%d wake samples for %d wakes", r.WakeSamples, wakes)
			}
			t.Logf("%s: %d rounds, %d wakes, wake p50 %s", work, rounds, wakes, ms(r.WakeP50))
		})
	}
}

// TestPageFaultChurnFaults: every touch of a dropped page is a page
// fault the kernel counts.
func TestPageFaultChurnFaults(t *testing.T) {
	r := runOne(t, PageFaultChurn(1<<20), 300*time.Millisecond)
	faults := r.Counters[CounterFaults]
	if faults < 256 {
		t.Fatalf("%d pages touched in 300ms over a 1 MiB region", faults)
	}
	if r.MinorFaults < faults*9/10 {
		t.Errorf("kernel counted %d minor faults for %d touches of dropped pages", r.MinorFaults, faults)
	}
	t.Logf("%d touches, %d minor faults", faults, r.MinorFaults)
}

// TestMutexContention: four threads on one lock wait for each other.
func TestMutexContention(t *testing.T) {
	r := runOne(t, MutexContention(4, 1), 300*time.Millisecond)
	acq, cont := r.Counters[CounterAcquired], r.Counters[CounterContended]
	if acq == 0 || cont == 0 {
		t.Fatalf("acquired %d, contended %d: four threads on one lock never waited", acq, cont)
	}
	if len(r.TIDs) < 2 {
		t.Errorf("work seen on %d thread(s), want 4 contenders", len(r.TIDs))
	}
	t.Logf("acquired %d, contended %d (%.0f%%)", acq, cont, 100*float64(cont)/float64(acq))
}

// TestSequencePhases: a sequence sleeps once per cycle (one wake sample
// each), writes, yields, and spins without counting the spin as work.
func TestSequencePhases(t *testing.T) {
	seq := Sequence(Burn(2*time.Millisecond), Sleep(2*time.Millisecond), Yield(time.Millisecond), IO(time.Millisecond), SpinWait(2*time.Millisecond))
	r := runOne(t, seq, 400*time.Millisecond)
	// 8 ms of phases a cycle: about 50 cycles in 400 ms, fewer on a
	// loaded machine.
	if r.WakeSamples < 5 || r.WakeSamples > 60 {
		t.Errorf("%d sleeps timed in 400ms of 8ms cycles", r.WakeSamples)
	}
	if r.VoluntarySwitches == 0 {
		t.Error("no voluntary switches: the sleep and io phases did not block")
	}
	spinOnly := runOne(t, Sequence(SpinWait(5*time.Millisecond)), 100*time.Millisecond)
	if spinOnly.Work != 0 || spinOnly.CPUTime == 0 {
		t.Errorf("spin-wait: %d work units, %s CPU; want no work and CPU", spinOnly.Work, spinOnly.CPUTime)
	}
}

// TestWorkParameters: parameters change what the worker does.
func TestWorkParameters(t *testing.T) {
	fast := runOne(t, Work{Type: TimerWork, Sleep: 200 * time.Microsecond}, 200*time.Millisecond)
	slow := runOne(t, Work{Type: TimerWork, Sleep: 20 * time.Millisecond}, 200*time.Millisecond)
	// 20 ms sleeps give at most ~10 wake-ups in 200 ms; the worker may
	// run a little past its 200 ms before the stop reaches it.
	if slow.WakeSamples > 20 || fast.WakeSamples < 5*slow.WakeSamples {
		t.Errorf("timer 200µs woke %d times, timer 20ms %d times in 200ms", fast.WakeSamples, slow.WakeSamples)
	}
	chain := runOne(t, Work{Type: WakeChainWork, Fanout: 5}, 100*time.Millisecond)
	if len(chain.TIDs) < 2 {
		t.Errorf("wake_chain of 5 ran on %d thread(s)", len(chain.TIDs))
	}
}

// counted is a custom work type registered the way a test would.
var counted = RegisterWork("test_counted", CustomWork{
	Description:    "counts its cycles and sleeps 1 ms",
	Threads:        2,
	WakesPerSecond: 100,
	Cycle: func(l *WorkLoop) error {
		l.Burn(200 * time.Microsecond)
		l.Count("cycles", 1)
		if l.Thread() == 1 {
			l.Count("second_thread", 1)
		}
		l.Sleep(time.Millisecond)
		return nil
	},
})

var failing = RegisterWork("test_failing", CustomWork{Cycle: func(*WorkLoop) error { return errors.New("broken on purpose") }})

func TestCustomWork(t *testing.T) {
	r := runOne(t, counted, 200*time.Millisecond)
	if r.Counters["cycles"] == 0 || r.Counters["second_thread"] == 0 || r.Work == 0 || r.WakeSamples == 0 {
		t.Errorf("custom work: counters %v, work %d, wake samples %d", r.Counters, r.Work, r.WakeSamples)
	}
	if got := counted.Describe(); got != "counts its cycles and sleeps 1 ms" {
		t.Errorf("Describe = %q", got)
	}
	w, err := SpawnWorkload(WorkloadConfig{Workers: 1, Work: failing})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Kill()
	_ = w.Start()
	time.Sleep(50 * time.Millisecond)
	reps, _ := w.Stop()
	if len(reps) != 1 || !strings.Contains(strings.Join(reps[0].Errors, ";"), "test_failing (thread 0): broken on purpose") {
		t.Errorf("a failing custom cycle reported %v", reps[0].Errors)
	}
}

// TestWorkerCPUCountsWorkThreads: a one-thread worker cannot use more
// than one CPU's worth of time (the Go runtime's threads are left out).
func TestWorkerCPUCountsWorkThreads(t *testing.T) {
	r := runOne(t, SpinWork, 300*time.Millisecond)
	if share := r.CPUShare(); share > 1.02 {
		t.Errorf("one spin thread used %.0f%% CPU", 100*share)
	}
	if r.Outside == nil || r.Outside.CPUTime < r.CPUTime/2 {
		t.Errorf("collector saw %+v of a worker that ran %s", r.Outside, r.CPUTime)
	}
}

// TestCollectorLongestWait drives the collector over a fake /proc: a
// thread that stays runnable while its CPU time stands still is waiting;
// one asleep is not.
func TestCollectorLongestWait(t *testing.T) {
	dir := t.TempDir()
	write := func(tid, cpu int, state string) string {
		d := filepath.Join(dir, strconv.Itoa(tid))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		must(t, os.WriteFile(filepath.Join(d, "schedstat"), fmt.Appendf(nil, "%d 0 1\n", cpu), 0o644))
		must(t, os.WriteFile(filepath.Join(d, "stat"), fmt.Appendf(nil, "%d (a (b) c) %s 0 0 0 0 0 0 7 0\n", tid, state), 0o644))
		return d
	}
	p := &procView{base: map[int][2]uint64{}, threads: map[int]*threadView{}}
	step := func(at time.Duration, cpu1 int, state1 string, cpu2 int, state2 string) {
		p.sampleThread(write(1, cpu1, state1), 1, int64(at), 0)
		p.sampleThread(write(2, cpu2, state2), 2, int64(at), 0)
		p.sum()
	}
	step(0, 100, "R", 500, "S")
	p.started = true
	step(time.Second, 5_000_100, "R", 500, "S")   // 1 ran, 2 slept
	step(2*time.Second, 5_000_100, "R", 500, "S") // 1 waits
	step(5*time.Second, 5_000_100, "R", 500, "S") // still
	step(6*time.Second, 7_000_100, "R", 500, "S") // ran again
	if p.view.LongestWait != 4*time.Second || p.view.LongestWaitTID != 1 || p.view.LongestWaitAt != time.Second {
		t.Errorf("longest wait %s of tid %d at +%s, want 4s of tid 1 at +1s", p.view.LongestWait, p.view.LongestWaitTID, p.view.LongestWaitAt)
	}
	if p.view.CPUTime != 7*time.Millisecond {
		t.Errorf("cpu %s, want 7ms", p.view.CPUTime)
	}
	// A thread born after the start signal counts from zero.
	p.sampleThread(write(3, 3_000_000, "S"), 3, int64(7*time.Second), 0)
	p.sum()
	if p.view.CPUTime != 10*time.Millisecond {
		t.Errorf("cpu %s with a new thread, want 10ms", p.view.CPUTime)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
