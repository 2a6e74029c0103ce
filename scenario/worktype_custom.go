package scenario

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// CustomWork is a work function a test registers with RegisterWork.
type CustomWork struct {
	// Description is the one-line summary Describe returns.
	Description string
	// Threads is the number of work threads (zero: one); each runs Cycle
	// in a loop.
	Threads int
	// CPUBound says equal workers should get equal CPU time (the
	// fairness check applies).
	CPUBound bool
	// WakesPerSecond is the least number of wake-ups per second (all
	// threads) an unimpeded worker times with WorkLoop.Sleep or
	// WorkLoop.WakeLatency; the wake-latency check fails a worker far
	// below it. Zero: the work times no wake-ups.
	WakesPerSecond float64
	// Cycle does one cycle of the work. The harness calls it until the
	// worker is told to stop; an error stops the thread and fails the
	// worker with it.
	Cycle func(l *WorkLoop) error
}

var customWork struct {
	sync.RWMutex
	m map[WorkType]CustomWork
}

// RegisterWork makes a custom work function available as work type name,
// for CgroupDef.Work and WorkloadConfig.Work. Register from a package-level
// variable or init, so that worker processes (re-executions of the test
// binary) have it too; the binary's main or TestMain must call
// scenario.RunWorkerIfRequested (ktstr.Main does). It panics on an empty
// or taken name or a nil Cycle: those are programming errors.
//
//	var Hash = scenario.RegisterWork("hash", scenario.CustomWork{
//		Description: "sha256 over 4 KiB, 1 ms sleeps", WakesPerSecond: 500,
//		Cycle: func(l *scenario.WorkLoop) error { sum(buf); l.Tick(1); l.Sleep(time.Millisecond); return nil },
//	})
func RegisterWork(name string, c CustomWork) WorkType {
	t := WorkType(name)
	if name == "" || c.Cycle == nil {
		panic(fmt.Sprintf("scenario.RegisterWork(%q): needs a name and a Cycle function", name))
	}
	if _, builtin := builtinWork[t]; builtin {
		panic(fmt.Sprintf("scenario.RegisterWork(%q): a built-in work type has that name", name))
	}
	customWork.Lock()
	defer customWork.Unlock()
	if _, dup := customWork.m[t]; dup {
		panic(fmt.Sprintf("scenario.RegisterWork(%q): registered twice", name))
	}
	if customWork.m == nil {
		customWork.m = map[WorkType]CustomWork{}
	}
	customWork.m[t] = c
	return t
}

func customTypes() []WorkType {
	customWork.RLock()
	defer customWork.RUnlock()
	out := make([]WorkType, 0, len(customWork.m))
	for t := range customWork.m {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

func isCustom(t WorkType) bool {
	customWork.RLock()
	defer customWork.RUnlock()
	_, ok := customWork.m[t]
	return ok
}

func customImpl(t WorkType) (workImpl, bool) {
	customWork.RLock()
	c, ok := customWork.m[t]
	customWork.RUnlock()
	if !ok {
		return workImpl{}, false
	}
	threads := max(c.Threads, 1)
	impl := workImpl{
		desc:      c.Description,
		threads:   func(Work) int { return threads },
		cpuBound:  c.CPUBound,
		allocates: always,
		setup: func(w *workerEnv) (func(int, *tracker), func(), error) {
			return func(i int, tr *tracker) {
				l := &WorkLoop{w: w, tr: tr, thread: i}
				for !w.stopped() {
					if err := c.Cycle(l); err != nil {
						w.fail(fmt.Errorf("%s (thread %d): %w", t, i, err))
						return
					}
				}
			}, nil, nil
		},
	}
	if c.WakesPerSecond > 0 {
		impl.wakes = func(Work) (float64, string) {
			return c.WakesPerSecond, fmt.Sprintf("its declared %g wake-ups/s", c.WakesPerSecond)
		}
	}
	return impl, true
}

// WorkLoop is what a custom work function gets: the harness's telemetry
// for its thread, and the worker's stop signal.
type WorkLoop struct {
	w      *workerEnv
	tr     *tracker
	thread int
}

// Thread is this work thread's index (0..Threads-1).
func (l *WorkLoop) Thread() int { return l.thread }

// Stopped reports whether the worker was told to stop; a Cycle that
// loops on its own must check it.
func (l *WorkLoop) Stopped() bool { return l.w.stopped() }

// Tick records n units of work done on the CPU; the time between ticks
// (minus Block and Sleep) is what the not_stuck check measures.
func (l *WorkLoop) Tick(n uint64) { l.tr.tick(n) }

// Burn burns CPU for d, ticking as it goes.
func (l *WorkLoop) Burn(d time.Duration) { l.w.burnFor(l.tr, d) }

// Sleep sleeps for d and records how late the wake-up came.
func (l *WorkLoop) Sleep(d time.Duration) { l.w.sleep(l.tr, d) }

// Block runs wait, a voluntary wait (a read, a lock, a futex): its time
// is not counted as a gap.
func (l *WorkLoop) Block(wait func()) {
	l.tr.block()
	wait()
	l.tr.unblock()
}

// WakeLatency records one wake-up latency sample measured by the work.
func (l *WorkLoop) WakeLatency(d time.Duration) { l.tr.wakeLatency(int64(d)) }

// Count adds n to the worker's counter name (WorkerReport.Counters).
func (l *WorkLoop) Count(name string, n uint64) { l.tr.count(name, n) }

// Alloc maps size bytes placed by the worker's memory policy; the
// mapping lives as long as the worker.
func (l *WorkLoop) Alloc(size int) ([]byte, error) { return l.w.mapBuffer(size) }
