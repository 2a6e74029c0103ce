package ktstr

import (
	"errors"
	"math"
	"sync"
	"time"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/vmm"
)

// collected is what the host gathered from one VM.
type collected struct {
	records []guest.Record
	// final is the guest's final record; nil if none arrived.
	final *guest.Final
	// chanErr is the last corrupt frame on the channel, if any.
	chanErr error
	exit    vmm.Exit
	monitor *monitor.Report
	// holds are when each step's hold began and ended, on the host's
	// clock as the records arrived.
	holds []holdSpan
}

// holdSpan is one step's hold on the host's clock; an end of zero means
// the run ended inside it.
type holdSpan struct{ from, to time.Time }

// note keeps a hold record's arrival.
func (c *collected) note(rec guest.Record, at time.Time) {
	var h guest.Hold
	if rec.Kind != guest.KindHold || rec.Decode(&h) != nil {
		return
	}
	if !h.End {
		c.holds = append(c.holds, holdSpan{from: at})
	} else if n := len(c.holds); n > 0 && c.holds[n-1].to.IsZero() {
		c.holds[n-1].to = at
	}
}

// monitorWindows places the holds on the monitor's clock: the spans whose
// load shape the monitor judges (monitor.Thresholds.EvaluateIn).
func (c *collected) monitorWindows() []monitor.Window {
	if c.monitor == nil || c.monitor.Start.IsZero() {
		return nil
	}
	var out []monitor.Window
	for _, h := range c.holds {
		w := monitor.Window{From: h.from.Sub(c.monitor.Start), To: time.Duration(math.MaxInt64)}
		if !h.to.IsZero() {
			w.To = h.to.Sub(c.monitor.Start)
		}
		out = append(out, w)
	}
	return out
}

// collect reads the guest's records until the channel closes and waits
// for the VM to end. The monitor covers the run up to the final record:
// after it the guest powers off, and a CPU stopped for shutdown is no
// stall.
func collect(r *vmRun, onRecord func(guest.Record)) collected {
	var c collected
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		rd := guest.NewReader(r.machine.Channel())
		for {
			rec, err := rd.Next()
			if errors.Is(err, guest.ErrCorrupt) {
				c.chanErr = err
				continue
			}
			if err != nil {
				return
			}
			c.records = append(c.records, rec)
			c.note(rec, time.Now())
			r.jit.add(rec)
			r.intro.record(rec)
			if onRecord != nil {
				onRecord(rec)
			}
			if rec.Kind == guest.KindFinal {
				r.stopMonitor()
				var f guest.Final
				if rec.Decode(&f) == nil {
					c.final = &f
				}
			}
		}
	}()
	c.exit = r.machine.Wait()
	c.monitor = r.stopMonitor()
	wg.Wait()
	return c
}
