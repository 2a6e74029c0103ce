package guest

import (
	"fmt"
	"time"

	"github.com/ktstr-go/ktstr/guest/watchdog"
)

// Watchdog is the sched_ext watchdog timeout in force for an attached
// scheduler, and where it came from.
type Watchdog struct {
	// InForce is the timeout the kernel took (zero if it could not be
	// read; Err says why).
	InForce time.Duration `json:"in_force,omitempty"`
	// Override is the test's override (zero: none).
	Override time.Duration `json:"override,omitempty"`
	// Asked is what the scheduler itself asked for, known when the
	// override rewrote it (zero: the kernel's default).
	Asked time.Duration `json:"asked,omitempty"`
	// Rewritten tells whether the supervisor rewrote the scheduler's ops.
	Rewritten bool   `json:"rewritten,omitempty"`
	Err       string `json:"error,omitempty"`
}

// String says which timeout was in force and why, e.g. "2s (override;
// the scheduler asked for 5s)" or "30s (the kernel's default)".
func (w *Watchdog) String() string {
	if w == nil {
		return "unknown"
	}
	if w.InForce == 0 {
		return "unknown (" + w.Err + ")"
	}
	s := w.InForce.String()
	switch {
	case w.Override > 0 && w.Rewritten:
		asked := w.Asked.String()
		if w.Asked == 0 {
			asked = "none, i.e. the kernel's " + watchdog.MaxTimeout.String()
		}
		s += fmt.Sprintf(" (override; the scheduler asked for %s)", asked)
	case w.Override > 0:
		s += fmt.Sprintf(" (override of %s requested, but the scheduler's ops were not rewritten)", w.Override)
	case w.InForce == watchdog.MaxTimeout:
		s += " (the scheduler's own or the kernel's default)"
	default:
		s += " (the scheduler's own)"
	}
	if w.Override > 0 && w.InForce != w.Override {
		s += "; NOT the override"
	}
	return s
}

// watchdogInForce reads the timeout the kernel took for ops and what the
// supervisor's report says it rewrote.
func watchdogInForce(ops string, override time.Duration, report string, layout *watchdog.Layout) *Watchdog {
	w := &Watchdog{Override: override}
	if report != "" {
		rws, err := watchdog.ReadReport(report)
		if err != nil {
			w.Err = err.Error()
		}
		for _, r := range rws {
			if r.Ops == ops {
				w.Rewritten, w.Asked = true, r.Asked
			}
		}
	}
	var d time.Duration
	var err error
	if layout != nil {
		d, err = watchdog.InForceWith(ops, *layout)
	} else {
		d, err = watchdog.InForce(ops)
	}
	if err != nil {
		w.Err = err.Error()
		return w
	}
	w.InForce = d
	return w
}
