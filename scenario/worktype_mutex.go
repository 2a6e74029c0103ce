package scenario

import (
	"sync/atomic"
)

// Counters mutex_contention reports (WorkerReport.Counters).
const (
	CounterAcquired  = "acquired"  // locks taken
	CounterContended = "contended" // of those, taken after waiting for another holder
)

// futexMutex is the classic three-state futex lock (0 free, 1 held, 2
// held with waiters), as glibc's pthread mutex is underneath: a
// contended waiter sleeps in the kernel and the unlocker wakes one.
type futexMutex struct {
	state atomic.Uint32
	// released is when the last contended unlock woke a waiter
	// (monotonic ns), for the woken thread's wake latency.
	released atomic.Int64
}

// lock takes m; it reports whether it had to wait, and false for ok when
// the worker stopped while waiting.
func (m *futexMutex) lock(w *workerEnv, tr *tracker) (contended, ok bool) {
	if m.state.CompareAndSwap(0, 1) {
		return false, true
	}
	tr.block()
	woken := false
	for m.state.Swap(2) != 0 {
		if w.stopped() {
			tr.unblock()
			return true, false
		}
		futexWait(&m.state, 2, fanoutPoll)
		woken = true
	}
	now := monoNow()
	tr.unblock()
	if woken {
		tr.wakeLatency(now - m.released.Load())
	}
	return true, true
}

// unlock releases m and wakes one waiter if there are any.
func (m *futexMutex) unlock() {
	if m.state.Add(^uint32(0)) != 0 { // was 2: waiters
		m.state.Store(0)
		m.released.Store(monoNow())
		futexWake(&m.state, 1)
	}
}

// setupMutexContention: Fanout threads share Locks locks; each takes
// the next lock in turn, holds it for Hold (burning), releases it and
// burns Burn outside. Work units are the burns' (inside and outside the
// lock); the counters count the acquisitions.
func setupMutexContention(w *workerEnv) (func(int, *tracker), func(), error) {
	locks := make([]futexMutex, w.work.Locks)
	return func(i int, tr *tracker) {
		for k := i; !w.stopped(); k++ {
			m := &locks[k%len(locks)]
			contended, ok := m.lock(w, tr)
			if !ok {
				return
			}
			tr.count(CounterAcquired, 1)
			if contended {
				tr.count(CounterContended, 1)
			}
			w.burnFor(tr, w.work.Hold)
			m.unlock()
			w.burnFor(tr, w.work.Burn)
		}
	}, nil, nil
}
