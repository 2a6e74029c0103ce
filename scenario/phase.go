package scenario

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// PhaseKind is what a sequence worker does in one phase.
type PhaseKind string

// Phase kinds.
const (
	PhaseBurn     PhaseKind = "burn"      // burn CPU, ticking work units
	PhaseSleep    PhaseKind = "sleep"     // one nanosleep, timing the wake-up
	PhaseYield    PhaseKind = "yield"     // short burns with sched_yield between
	PhaseSpinWait PhaseKind = "spin_wait" // poll the clock on CPU without doing work (a user-space spin lock's wait)
	PhaseIO       PhaseKind = "io"        // 4 KiB writes + fdatasync to a temp file
)

// Phase is one step of a sequence worker: a kind and how long it lasts.
type Phase struct {
	Kind PhaseKind     `json:"kind"`
	For  time.Duration `json:"for"`
}

// Burn is a phase that burns CPU for d.
func Burn(d time.Duration) Phase { return Phase{PhaseBurn, d} }

// Sleep is a phase that sleeps for d.
func Sleep(d time.Duration) Phase { return Phase{PhaseSleep, d} }

// Yield is a phase of short burns and sched_yield for d.
func Yield(d time.Duration) Phase { return Phase{PhaseYield, d} }

// SpinWait is a phase that spins on the clock for d without doing work.
func SpinWait(d time.Duration) Phase { return Phase{PhaseSpinWait, d} }

// IO is a phase of synchronous 4 KiB writes for d.
func IO(d time.Duration) Phase { return Phase{PhaseIO, d} }

func (p Phase) String() string { return fmt.Sprintf("%s %s", p.Kind, p.For) }

func (p Phase) validate() error {
	switch p.Kind {
	case PhaseBurn, PhaseSleep, PhaseYield, PhaseSpinWait, PhaseIO:
	default:
		return fmt.Errorf("unknown phase kind %q (want burn, sleep, yield, spin_wait or io)", p.Kind)
	}
	if p.For <= 0 {
		return fmt.Errorf("%s phase needs a positive duration, got %s", p.Kind, p.For)
	}
	return nil
}

// sequenceCycle is one pass over the phases and the number of sleeps in
// it (each gives one wake-latency sample).
func sequenceCycle(w Work) (cycle time.Duration, sleeps int) {
	for _, p := range w.Phases {
		cycle += p.For
		if p.Kind == PhaseSleep {
			sleeps++
		}
	}
	return cycle, sleeps
}

func setupSequence(w *workerEnv) (func(int, *tracker), func(), error) {
	var io *syncWriter
	for _, p := range w.work.Phases {
		if p.Kind == PhaseIO && io == nil {
			var err error
			if io, err = newSyncWriter(w, 4096); err != nil {
				return nil, nil, fmt.Errorf("sequence: %w", err)
			}
		}
	}
	return func(_ int, tr *tracker) {
		for !w.stopped() {
			for _, p := range w.work.Phases {
				if w.stopped() {
					return
				}
				if err := w.runPhase(tr, p, io); err != nil {
					w.fail(fmt.Errorf("sequence: %s phase: %w", p.Kind, err))
					return
				}
			}
		}
	}, nil, nil
}

func (w *workerEnv) runPhase(tr *tracker, p Phase, io *syncWriter) error {
	switch p.Kind {
	case PhaseBurn:
		w.burnFor(tr, p.For)
	case PhaseSleep:
		w.sleep(tr, p.For)
	case PhaseYield:
		end := monoNow() + int64(p.For)
		for !w.stopped() && monoNow() < end {
			w.burn(spinUnit / 8)
			tr.tick(1)
			_, _, _ = unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
		}
	case PhaseSpinWait:
		end := monoNow() + int64(p.For)
		for !w.stopped() && monoNow() < end {
			tr.tick(0) // on CPU, so gaps count, but no work
		}
	case PhaseIO:
		end := monoNow() + int64(p.For)
		for !w.stopped() && monoNow() < end {
			if err := io.write(tr); err != nil {
				return err
			}
		}
	}
	return nil
}
