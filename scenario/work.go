package scenario

import (
	"fmt"
	"strings"
	"time"
)

// Work is a work type with its parameters. A zero parameter takes the
// type's default (the values in the work type table of docs/scenario.md),
// so Work{Type: BurstyWork} is exactly BurstyWork. A parameter the type
// does not read is an error, so a typo cannot go unnoticed:
//
//	scenario.Work{Type: scenario.BurstyWork, Burn: 5 * time.Millisecond, Sleep: 45 * time.Millisecond}
//	scenario.FutexFanOut(8)
//	scenario.Sequence(scenario.Burn(5*time.Millisecond), scenario.Sleep(2*time.Millisecond), scenario.Yield(time.Millisecond))
type Work struct {
	Type WorkType `json:"type"`
	// Burn is CPU burnt per cycle (mixed, bursty, nice_sweep,
	// affinity_churn, policy_churn, yield), by the waker per round
	// (futex_fanout), by each child per round (fanout_compute), or
	// outside the lock (mutex_contention).
	Burn time.Duration `json:"burn,omitempty"`
	// Sleep is the sleep per cycle (mixed, bursty, sleep, timer).
	Sleep time.Duration `json:"sleep,omitempty"`
	// Hold is the time a thread holds a lock (mutex_contention).
	Hold time.Duration `json:"hold,omitempty"`
	// Size is a byte count: the write size (io_sync), the buffer walked
	// (cache_pressure, fanout_compute) or the region faulted in and
	// dropped (page_fault_churn).
	Size int `json:"size,omitempty"`
	// Fanout is a thread count: threads in the ring (wake_chain),
	// waiters (futex_fanout), children (fanout_compute) or contenders
	// (mutex_contention).
	Fanout int `json:"fanout,omitempty"`
	// Locks is the number of locks contenders share (mutex_contention).
	Locks int `json:"locks,omitempty"`
	// Phases are what a sequence worker does, in order, in a loop.
	Phases []Phase `json:"phases,omitempty"`
}

// WorkSpec is what CgroupDef.Work and WorkloadConfig.Work accept: a bare
// WorkType (its defaults) or a Work with parameters.
type WorkSpec interface {
	workSpec() Work
}

func (t WorkType) workSpec() Work { return Work{Type: t} }
func (w Work) workSpec() Work     { return w }

// specOf turns a WorkSpec into a Work; nil is SpinWork.
func specOf(s WorkSpec) Work {
	if s == nil {
		return Work{Type: SpinWork}
	}
	w := s.workSpec()
	if w.Type == "" {
		w.Type = SpinWork
	}
	return w
}

// param names a Work parameter, for validation and descriptions.
type param int

const (
	pBurn param = 1 << iota
	pSleep
	pHold
	pSize
	pFanout
	pLocks
	pPhases
)

// set lists the parameters w sets.
func (w Work) set() param {
	var p param
	for _, f := range []struct {
		on bool
		p  param
	}{{w.Burn != 0, pBurn}, {w.Sleep != 0, pSleep}, {w.Hold != 0, pHold}, {w.Size != 0, pSize},
		{w.Fanout != 0, pFanout}, {w.Locks != 0, pLocks}, {len(w.Phases) > 0, pPhases}} {
		if f.on {
			p |= f.p
		}
	}
	return p
}

func (p param) String() string {
	var names []string
	for _, n := range []struct {
		p    param
		name string
	}{{pBurn, "Burn"}, {pSleep, "Sleep"}, {pHold, "Hold"}, {pSize, "Size"}, {pFanout, "Fanout"}, {pLocks, "Locks"}, {pPhases, "Phases"}} {
		if p&n.p != 0 {
			names = append(names, n.name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// Validate reports an unknown type, a parameter the type does not read,
// and values out of range.
func (w Work) Validate() error {
	impl, ok := lookupWork(w.Type)
	if !ok {
		return fmt.Errorf("unknown work type %q (known: %v)", w.Type, WorkTypes())
	}
	if extra := w.set() &^ impl.params; extra != 0 {
		return fmt.Errorf("work type %s does not take %s (it takes: %s)", w.Type, extra, impl.params)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"Burn", w.Burn}, {"Sleep", w.Sleep}, {"Hold", w.Hold}} {
		if d.v < 0 {
			return fmt.Errorf("work type %s: negative %s %s", w.Type, d.name, d.v)
		}
	}
	if w.Size < 0 || w.Fanout < 0 || w.Locks < 0 {
		return fmt.Errorf("work type %s: negative Size, Fanout or Locks (%d, %d, %d)", w.Type, w.Size, w.Fanout, w.Locks)
	}
	if w.Fanout > maxFanout {
		return fmt.Errorf("work type %s: Fanout %d above %d threads per worker; use more workers", w.Type, w.Fanout, maxFanout)
	}
	for i, ph := range w.Phases {
		if err := ph.validate(); err != nil {
			return fmt.Errorf("work type %s: phase %d: %w", w.Type, i+1, err)
		}
	}
	if impl.check != nil {
		return impl.check(w)
	}
	return nil
}

// maxFanout bounds the threads of one worker process.
const maxFanout = 64

// withDefaults fills zero parameters with the type's defaults.
func (w Work) withDefaults() Work {
	impl, ok := lookupWork(w.Type)
	if !ok {
		return w
	}
	d := impl.defaults
	if w.Burn == 0 {
		w.Burn = d.Burn
	}
	if w.Sleep == 0 {
		w.Sleep = d.Sleep
	}
	if w.Hold == 0 {
		w.Hold = d.Hold
	}
	if w.Size == 0 {
		w.Size = d.Size
	}
	if w.Fanout == 0 {
		w.Fanout = d.Fanout
	}
	if w.Locks == 0 {
		w.Locks = d.Locks
	}
	if len(w.Phases) == 0 {
		w.Phases = d.Phases
	}
	return w
}

// String describes the work with the parameters it sets, e.g.
// "bursty(burn=5ms, sleep=45ms)".
func (w Work) String() string {
	var args []string
	add := func(on bool, f string, v any) {
		if on {
			args = append(args, fmt.Sprintf(f, v))
		}
	}
	add(w.Burn != 0, "burn=%s", w.Burn)
	add(w.Sleep != 0, "sleep=%s", w.Sleep)
	add(w.Hold != 0, "hold=%s", w.Hold)
	add(w.Size != 0, "size=%s", byteSize(w.Size))
	add(w.Fanout != 0, "fanout=%d", w.Fanout)
	add(w.Locks != 0, "locks=%d", w.Locks)
	for _, p := range w.Phases {
		args = append(args, p.String())
	}
	if len(args) == 0 {
		return string(w.Type)
	}
	return fmt.Sprintf("%s(%s)", w.Type, strings.Join(args, ", "))
}

// Threads is the number of work threads a worker of this work runs.
func (w Work) Threads() int {
	impl, ok := lookupWork(w.Type)
	if !ok {
		return 1
	}
	if impl.threads != nil {
		return impl.threads(w.withDefaults())
	}
	return 1
}

func byteSize(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// FutexFanOut is one waker thread that burns Burn, then wakes waiters
// threads blocked on one futex word with a single FUTEX_WAKE; each waiter
// burns briefly and waits again. Every waiter should wake every round.
func FutexFanOut(waiters int) Work { return Work{Type: FutexFanOutWork, Fanout: waiters} }

// FanOutCompute is a parent thread that hands a round of work to
// children threads, each burning Burn (and walking Size bytes if set),
// and waits until all are done before the next round.
func FanOutCompute(children int) Work { return Work{Type: FanOutComputeWork, Fanout: children} }

// PageFaultChurn faults in a region of size bytes page by page, then
// drops it (MADV_DONTNEED), in a loop: one work unit per page fault.
func PageFaultChurn(size int) Work { return Work{Type: PageFaultChurnWork, Size: size} }

// MutexContention runs threads contenders over locks mutexes: each takes
// a lock (round robin), holds it for Hold, releases it and burns Burn.
func MutexContention(threads, locks int) Work {
	return Work{Type: MutexContentionWork, Fanout: threads, Locks: locks}
}

// Sequence runs phases in order, in a loop (work type "sequence").
func Sequence(phases ...Phase) Work { return Work{Type: SequenceWork, Phases: phases} }
