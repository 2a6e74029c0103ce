package monitor_test

import (
	"fmt"
	"time"

	"github.com/ktstr-go/ktstr/monitor"
)

// A CPU whose rq clock stands still for half a second while a task waits
// on it fails the default thresholds; ktstr.Run does this for every test
// with the samples it read from the guest.
func ExampleThresholds_Evaluate() {
	r := &monitor.Report{Interval: monitor.DefaultInterval}
	for i := range 8 {
		// cpu1 ticks for the first two samples, then freezes.
		clock := uint64(1e9) + uint64(min(i, 1))*1e8
		r.Samples = append(r.Samples, monitor.Sample{
			At: time.Duration(i) * r.Interval,
			CPUs: []monitor.CPU{
				{NrRunning: 1, Clock: uint64(i) * 1e8},
				{NrRunning: 2, Clock: clock},
			},
		})
	}
	for _, v := range monitor.DefaultThresholds.Evaluate(r) {
		fmt.Println(v)
	}
	// Output:
	// monitor: cpu1 stalled: rq clock stood still for 6 samples (600ms) with up to 2 runnable tasks, ending at 700ms
}
