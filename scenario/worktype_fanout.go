package scenario

import (
	"fmt"
	"math"
	"sync/atomic"
	"time"
)

// Counters the fan-out types report (WorkerReport.Counters).
const (
	CounterRounds = "rounds" // rounds the waker (parent) started
	CounterWakes  = "wakes"  // times a waiter (child) woke for a round
)

// fanout is the shared state of a one-to-many hand-off: thread 0 (the
// waker or parent) opens a round by bumping gen and waking everyone
// waiting on it; each of the n others wakes, does its share and checks
// in; the last to check in wakes thread 0 through doneGen. Every waiter
// takes part in every round, so a round is complete only when all n have
// woken: wakes == n × rounds, give or take the round the stop cut short.
type fanout struct {
	w       *workerEnv
	n       int32
	gen     atomic.Uint32
	opened  atomic.Int64 // monotonic ns the round opened
	done    atomic.Int32
	doneGen atomic.Uint32
	closed  atomic.Int64 // monotonic ns the last waiter checked in
}

// fanoutPoll bounds each futex wait, so a stop request is noticed even
// when the wake that would end the wait never comes.
const fanoutPoll = 100 * time.Millisecond

// open starts a round and wakes every waiter.
func (f *fanout) open(tr *tracker) {
	f.done.Store(0)
	f.opened.Store(monoNow())
	f.gen.Add(1)
	futexWake(&f.gen, math.MaxInt32)
	tr.count(CounterRounds, 1)
}

// awaitAll blocks thread 0 until every waiter checked in; it reports
// false at stop.
func (f *fanout) awaitAll(tr *tracker, timeWake bool) bool {
	tr.block()
	for {
		g := f.doneGen.Load()
		if f.done.Load() >= f.n {
			break
		}
		if f.w.stopped() {
			return false
		}
		futexWait(&f.doneGen, g, fanoutPoll)
	}
	now := monoNow()
	tr.unblock()
	if timeWake {
		tr.wakeLatency(now - f.closed.Load())
	}
	return true
}

// await blocks a waiter until a round newer than seen opens and returns
// it; false at stop.
func (f *fanout) await(tr *tracker, seen uint32) (uint32, bool) {
	tr.block()
	g := f.gen.Load()
	for g == seen {
		if f.w.stopped() {
			return 0, false
		}
		futexWait(&f.gen, seen, fanoutPoll)
		g = f.gen.Load()
	}
	now := monoNow()
	tr.unblock()
	tr.wakeLatency(now - f.opened.Load())
	tr.count(CounterWakes, 1)
	return g, true
}

// serve is a waiter's loop: wait for each round, do share, check in,
// until the stop.
func (f *fanout) serve(tr *tracker, share func()) {
	var seen uint32
	for {
		g, ok := f.await(tr, seen)
		if !ok {
			return
		}
		seen = g
		share()
		f.checkIn()
	}
}

// checkIn reports a waiter's share of the round done.
func (f *fanout) checkIn() {
	if f.done.Add(1) == f.n {
		f.closed.Store(monoNow())
		f.doneGen.Add(1)
		futexWake(&f.doneGen, 1)
	}
}

// setupFutexFanOut: thread 0 burns Burn, then wakes all Fanout waiters
// with one FUTEX_WAKE; each waiter burns briefly and checks in; the waker
// waits for all before the next round.
func setupFutexFanOut(w *workerEnv) (func(int, *tracker), func(), error) {
	f := &fanout{w: w, n: int32(w.work.Fanout)}
	return func(i int, tr *tracker) {
		if i == 0 {
			for !w.stopped() {
				w.burnFor(tr, w.work.Burn)
				f.open(tr)
				if !f.awaitAll(tr, false) {
					return
				}
			}
			return
		}
		f.serve(tr, func() {
			w.burn(spinUnit / 64)
			tr.tick(1)
		})
	}, nil, nil
}

func checkFanOutCompute(w Work) error {
	if err := minFanout(1)(w); err != nil {
		return err
	}
	if w.Size != 0 && w.Size < 4096 {
		return fmt.Errorf("work type %s: Size %d below one page", w.Type, w.Size)
	}
	return nil
}

// setupFanOutCompute: thread 0 (the parent) opens a round and waits for
// every child; each child burns Burn, walks its own Size-byte buffer
// once if Size is set, and checks in. The parent times how long it took
// to wake after the last child finished.
func setupFanOutCompute(w *workerEnv) (func(int, *tracker), func(), error) {
	f := &fanout{w: w, n: int32(w.work.Fanout)}
	bufs := make([][]byte, w.work.Fanout+1)
	if w.work.Size > 0 {
		for i := 1; i <= w.work.Fanout; i++ {
			b, err := w.mapBuffer(w.work.Size)
			if err != nil {
				return nil, nil, fmt.Errorf("fanout_compute: %w", err)
			}
			bufs[i] = b
		}
	}
	return func(i int, tr *tracker) {
		if i == 0 {
			for !w.stopped() {
				f.open(tr)
				if !f.awaitAll(tr, true) {
					return
				}
				tr.tick(1)
			}
			return
		}
		f.serve(tr, func() {
			w.burnFor(tr, w.work.Burn)
			for off := 0; off < len(bufs[i]); off += 64 {
				bufs[i][off]++
			}
		})
	}, nil, nil
}
