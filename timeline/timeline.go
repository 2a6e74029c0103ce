// Package timeline puts one run's stimulus and response on one clock:
// the scenario's steps and ops, the scheduler's events and the checks the
// guest reported, the host monitor's samples, captures and snapshots,
// the probes' hits, and the failure. Guest records carry the guest's
// clock, monitor samples the host's; Build moves everything onto the
// host's, in time since the VM started, so a reader can see what the
// scenario did just before the scheduler went wrong.
package timeline

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/probe"
	"github.com/ktstr-go/ktstr/verdict"
)

// Sources of events.
const (
	Step     = "step"     // a scenario step began
	Op       = "op"       // a scenario op was applied
	Sched    = "sched"    // the scheduler attached, died or detached
	Check    = "check"    // a check the guest reported failed
	Monitor  = "monitor"  // a monitor sample
	Capture  = "capture"  // where a stalled CPU's vCPU was
	Snapshot = "snapshot" // a snapshot was taken
	Probe    = "probe"    // a probe hit
	Failure  = "failure"  // the run's verdict, when it failed
)

// Event is one thing that happened in a run.
type Event struct {
	// At is since the VM started, on the host's clock.
	At     time.Duration `json:"at"`
	Source string        `json:"source"`
	Text   string        `json:"text"`
	// Failed marks the events that are part of the failure.
	Failed bool `json:"failed,omitempty"`
	// Group names a run of like events (a probe's function, the
	// monitor's samples): printed folded, and a track of its own in a
	// trace.
	Group string `json:"group,omitempty"`
}

// Timeline is one run's events in time order.
type Timeline struct {
	Events []Event `json:"events"`
	// FailedAt is when the run started to fail; Failed says whether it
	// did.
	FailedAt time.Duration `json:"failed_at,omitempty"`
	Failed   bool          `json:"failed"`
	// Why is the first failure's description.
	Why string `json:"why,omitempty"`
}

// Inputs are what Build merges.
type Inputs struct {
	Records []guest.Record
	// Arrivals are when each record reached the host, since the VM
	// started (parallel to Records).
	Arrivals []time.Duration
	Monitor  *monitor.Report
	// MonitorStart is when the monitor started, since the VM started.
	MonitorStart time.Duration
	Probes       *probe.Results
	Verdict      verdict.Verdict
	Reasons      []string
	// End is when the VM ended, since it started.
	End time.Duration
}

// Build merges a run's inputs into one timeline.
func Build(in Inputs) *Timeline {
	off := guestOffset(in.Records, in.Arrivals)
	var evs []Event
	for _, r := range in.Records {
		evs = append(evs, recordEvents(r, r.Elapsed+off)...)
	}
	evs = append(evs, monitorEvents(in.Monitor, in.MonitorStart)...)
	evs = append(evs, probeEvents(in.Probes, off)...)
	slices.SortStableFunc(evs, func(a, b Event) int { return int(a.At - b.At) })
	t := &Timeline{Events: evs}
	t.findFailure(in)
	return t
}

// guestOffset converts guest record time (since guest init) to host time
// (since the VM started): the smallest gap between a record's arrival
// and its own time, i.e. the one that waited least on the channel.
func guestOffset(recs []guest.Record, arrivals []time.Duration) time.Duration {
	best := time.Duration(-1)
	for i, r := range recs {
		if i >= len(arrivals) {
			break
		}
		if d := arrivals[i] - r.Elapsed; best < 0 || d < best {
			best = d
		}
	}
	return max(best, 0)
}

func recordEvents(r guest.Record, at time.Duration) []Event {
	switch r.Kind {
	case guest.KindPhase:
		var p struct {
			Name string `json:"name"`
			Hold string `json:"hold"`
		}
		if r.Decode(&p) == nil {
			return []Event{{At: at, Source: Step, Text: fmt.Sprintf("%s (hold %s)", p.Name, p.Hold)}}
		}
	case guest.KindOp:
		var o guest.OpEvent
		if r.Decode(&o) == nil {
			// The record is sent once the op is done: it began Took earlier.
			return []Event{{At: at - o.Took, Source: Op, Text: fmt.Sprintf("%s (took %v)", o.Op, o.Took.Round(time.Millisecond))}}
		}
	case guest.KindHold:
		var h guest.Hold
		if r.Decode(&h) == nil {
			text := fmt.Sprintf("step %d's load in place: hold begins", h.Step)
			if h.End {
				text = fmt.Sprintf("step %d's hold ends", h.Step)
			}
			return []Event{{At: at, Source: Step, Text: text}}
		}
	case guest.KindSnapshot:
		var s guest.SnapshotRequest
		if r.Decode(&s) == nil {
			return []Event{{At: at, Source: Op, Text: "asked for snapshot " + s.Name}}
		}
	case guest.KindSched:
		var ev guest.SchedEvent
		if r.Decode(&ev) == nil {
			return []Event{schedEvent(ev, at)}
		}
	case guest.KindAssert:
		return checkEvents(r, at)
	}
	return nil
}

func schedEvent(ev guest.SchedEvent, at time.Duration) Event {
	e := Event{At: at, Source: Sched, Text: ev.Event + " " + ev.Name}
	if ev.Event == "died" && ev.Exit != nil {
		e.Text += ": " + ev.Exit.Reason
		if ev.Exit.Message != "" {
			e.Text += ": " + ev.Exit.Message
		}
		e.Failed = true
	}
	return e
}

// checkEvents lists the failing checks of one assert record.
func checkEvents(r guest.Record, at time.Duration) []Event {
	var res struct {
		Details []struct {
			Check   string          `json:"check"`
			Verdict verdict.Verdict `json:"verdict"`
			Cgroup  string          `json:"cgroup"`
			Message string          `json:"message"`
		} `json:"details"`
	}
	if r.Decode(&res) != nil {
		return nil
	}
	var out []Event
	for _, d := range res.Details {
		if d.Verdict != verdict.Fail {
			continue
		}
		where := ""
		if d.Cgroup != "" {
			where = " [" + d.Cgroup + "]"
		}
		out = append(out, Event{At: at, Source: Check, Text: fmt.Sprintf("%s failed%s: %s", d.Check, where, d.Message), Failed: true})
	}
	return out
}

func monitorEvents(r *monitor.Report, start time.Duration) []Event {
	if r == nil {
		return nil
	}
	var out []Event
	for _, s := range r.Samples {
		nr, dsq := make([]string, len(s.CPUs)), make([]string, len(s.CPUs))
		for i, c := range s.CPUs {
			nr[i], dsq[i] = fmt.Sprint(c.NrRunning), fmt.Sprint(c.LocalDSQ)
		}
		out = append(out, Event{At: start + s.At, Source: Monitor, Group: Monitor,
			Text: fmt.Sprintf("nr_running [%s] local DSQ [%s]", strings.Join(nr, " "), strings.Join(dsq, " "))})
	}
	for _, c := range r.Captures {
		out = append(out, Event{At: start + c.At, Source: Capture, Text: fmt.Sprintf("cpu%d stood still; its vCPU was in %s", c.CPU, c.Where), Failed: true})
	}
	for _, s := range r.Snapshots {
		out = append(out, Event{At: start + s.At, Source: Snapshot, Text: fmt.Sprintf("%s (%s)", s.Name, s.Trigger)})
	}
	return out
}

// probeEvents are the sampled hits and every tail's, each hit once.
func probeEvents(p *probe.Results, off time.Duration) []Event {
	if p == nil {
		return nil
	}
	seen := map[uint64]bool{}
	var out []Event
	add := func(h probe.Hit) {
		if seen[h.Seq] || h.Elapsed == 0 {
			return
		}
		seen[h.Seq] = true
		out = append(out, Event{At: h.Elapsed + off, Source: Probe, Text: h.String(), Group: h.Func})
	}
	for _, h := range p.Hits {
		add(h)
	}
	for _, t := range p.Tails {
		for _, h := range t.Hits {
			add(h)
		}
	}
	return out
}

// findFailure sets when the run began to fail: its first failed event,
// or for a failure no event explains (a timeout, a panic), the VM's end.
func (t *Timeline) findFailure(in Inputs) {
	if in.Verdict != verdict.Fail {
		return
	}
	t.Failed = true
	if i := slices.IndexFunc(t.Events, func(e Event) bool { return e.Failed }); i >= 0 {
		t.FailedAt, t.Why = t.Events[i].At, t.Events[i].Text
		return
	}
	t.FailedAt = in.End
	if len(in.Reasons) > 0 {
		t.Why = in.Reasons[0]
	}
	t.Events = append(t.Events, Event{At: in.End, Source: Failure, Text: t.Why, Failed: true})
}
