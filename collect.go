package ktstr

import (
	"errors"
	"sync"

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
