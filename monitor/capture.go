package monitor

import "time"

// Capture is what Config.OnStall said about a CPU while it stood still:
// typically where its vCPU was executing, named from the vmlinux.
type Capture struct {
	CPU int `json:"cpu"`
	// At is when it was taken, since the monitor started.
	At    time.Duration `json:"at"`
	Where string        `json:"where"`
}

// CaptureAfter is how many stalled intervals in a row make Run call
// Config.OnStall: fewer than DefaultThresholds.Sustained, so the capture
// is taken while a stall the bounds report is still going on. A stall
// is the one FailOnStall judges, with the default MinVCPUTime.
const CaptureAfter = 3

// maxCaptures bounds the captures of one run: each one briefly takes
// the vCPUs out of the guest.
const maxCaptures = 16

// stallWatch finds stalls as the samples arrive (Evaluate judges them
// after the run) so that the VMM can be asked about them in time.
type stallWatch struct {
	onStall func(cpu int) string
	stall   []run // per CPU, as Evaluate tracks them
}

// observe looks at one more sample and captures every CPU whose stall
// just reached CaptureAfter intervals; it returns those CPUs.
func (w *stallWatch) observe(prev, cur Sample, r *Report) []int {
	if w.onStall == nil {
		return nil
	}
	n := min(len(prev.CPUs), len(cur.CPUs))
	if len(w.stall) < n {
		w.stall = append(w.stall, make([]run, n-len(w.stall))...)
	}
	var captured []int
	for c := range n {
		w.stall[c].record(stalled(prev.CPUs[c], cur.CPUs[c], defaultMinVCPUTime), 0, cur.At)
		if w.stall[c].n == CaptureAfter && len(r.Captures) < maxCaptures {
			r.Captures = append(r.Captures, Capture{CPU: c, At: cur.At, Where: w.onStall(c)})
			captured = append(captured, c)
		}
	}
	return captured
}

// captureIn returns what was captured about cpu between from and to.
func (r *Report) captureIn(cpu int, from, to time.Duration) (Capture, bool) {
	for _, c := range r.Captures {
		if c.CPU == cpu && c.At >= from && c.At <= to {
			return c, true
		}
	}
	return Capture{}, false
}
