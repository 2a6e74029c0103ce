package ktstr

import (
	"strings"
	"sync"
	"time"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/probe"
	"github.com/ktstr-go/ktstr/timeline"
	"github.com/ktstr-go/ktstr/vmm"
	"github.com/ktstr-go/ktstr/vmm/x86"
)

// introspection is one VM run's glue for showing why a scheduler failed:
// it forwards the snapshots the guest asks for (and the ones the host
// wants, e.g. when the scheduler dies) to the monitor, gives the
// monitor the VMM's page walk, and stamps each record with the host time
// it arrived, which puts guest records and monitor samples on one
// timeline.
type introspection struct {
	requests chan monitor.SnapshotRequest
	start    time.Time // when the VM started, on the host's clock

	mu       sync.Mutex
	arrivals []time.Duration // per record, in order, since start
	probes   probe.Results
}

func newIntrospection() *introspection {
	return &introspection{requests: make(chan monitor.SnapshotRequest, 8), start: time.Now()}
}

// configure gives the monitor what snapshots need from the VMM.
func (in *introspection) configure(cfg *monitor.Config, m vmm.Machine) {
	mem := m.Memory()
	cfg.PageWalk = func(root uint64, la57 bool, va uint64) (uint64, error) {
		return x86.WalkPageTables(mem, root, la57, va)
	}
	cfg.Requests = in.requests
}

// record reacts to one guest record as it arrives.
func (in *introspection) record(rec guest.Record) {
	in.mu.Lock()
	in.arrivals = append(in.arrivals, time.Since(in.start))
	in.mu.Unlock()
	switch rec.Kind {
	case guest.KindSnapshot:
		var req guest.SnapshotRequest
		if rec.Decode(&req) == nil {
			in.ask(req.Name)
		}
	case guest.KindSched:
		var ev guest.SchedEvent
		if rec.Decode(&ev) == nil && ev.Event == "died" && ev.Exit != nil {
			in.ask("scheduler " + ev.Name + " died: " + ev.Exit.Reason)
		}
	case guest.KindProbe:
		var r probe.Report
		if rec.Decode(&r) == nil {
			r.Place(rec.Elapsed)
			in.mu.Lock()
			in.probes.Add(r)
			in.mu.Unlock()
		}
	}
}

// ask requests a snapshot without waiting: when the monitor has already
// stopped (after the final record) or is behind, the request is dropped.
func (in *introspection) ask(name string) {
	select {
	case in.requests <- monitor.SnapshotRequest{Name: name, Trigger: monitor.TriggerRequest}:
	default:
	}
}

// finish puts the probes' results and the run's timeline in res, once
// the run is judged.
func (in *introspection) finish(res *Result) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if p := in.probes; len(p.Counts)+len(p.Missing)+len(p.Tails) > 0 {
		res.Probes = &p
	}
	var monStart time.Duration
	if res.Monitor != nil && !res.Monitor.Start.IsZero() {
		monStart = res.Monitor.Start.Sub(in.start)
	}
	res.Timeline = timeline.Build(timeline.Inputs{
		Records: res.Records, Arrivals: in.arrivals, Monitor: res.Monitor, MonitorStart: monStart,
		Probes: res.Probes, Verdict: res.Verdict, Reasons: res.Reasons, End: res.Exit.Duration,
	})
}

// Explain says why a run failed beyond its reasons: the timeline around
// the failure and what the automatic second run's probes saw. It is ""
// for a run that passed or was not recorded.
func (r *Result) Explain() string {
	var sb strings.Builder
	if t := r.Timeline; t != nil && t.Failed {
		t.FormatAround(&sb, timeline.DefaultBefore, timeline.DefaultAfter)
	}
	if r.Repro != nil {
		r.Repro.Format(&sb)
	}
	return sb.String()
}
