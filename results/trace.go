package results

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/ktstr-go/ktstr/guest"
)

// The trace's processes: the monitor's per-CPU counters, the scenario
// (phases, ops, scheduler events) and the workers; introspection.go
// adds a fourth (snapshots, probe hits, the failure).
const (
	tracePIDMonitor  = 1
	tracePIDScenario = 2
	tracePIDWorkers  = 3
)

// Threads of the scenario process.
const (
	traceTIDPhases = 1
	traceTIDOps    = 2
	traceTIDSched  = 3
)

// DefaultGapThreshold is the shortest off-CPU gap of a runnable worker
// the trace shows as a slice: shorter ones are ordinary preemption.
const DefaultGapThreshold = 10 * time.Millisecond

// TraceEvent is one event of the Chrome trace-event format (the JSON
// Object Format that ui.perfetto.dev and chrome://tracing open).
type TraceEvent struct {
	Name string `json:"name"`
	Cat  string `json:"cat,omitempty"`
	// Ph is the phase: "X" complete slice, "i" instant, "C" counter,
	// "M" metadata.
	Ph  string  `json:"ph"`
	Ts  float64 `json:"ts"` // µs since the VM started
	Dur float64 `json:"dur,omitempty"`
	PID int     `json:"pid"`
	TID int     `json:"tid"`
	// S is an instant's scope: "g" global, "p" process, "t" thread.
	S    string         `json:"s,omitempty"`
	Args map[string]any `json:"args,omitempty"`
}

// Trace is a trace.json document.
type Trace struct {
	TraceEvents     []TraceEvent      `json:"traceEvents"`
	DisplayTimeUnit string            `json:"displayTimeUnit"`
	OtherData       map[string]string `json:"otherData,omitempty"`
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// traceJSON renders the run as a trace.
func traceJSON(v *view) ([]byte, error) {
	t := &Trace{DisplayTimeUnit: "ms", OtherData: map[string]string{
		"test": v.run.Test, "id": v.run.ID, "verdict": v.run.Verdict.String(), "dimensions": v.run.Dimensions().String(),
	}}
	t.meta(tracePIDMonitor, 0, "process_name", "host monitor: guest runqueues")
	t.meta(tracePIDScenario, 0, "process_name", "scenario")
	t.meta(tracePIDScenario, traceTIDPhases, "thread_name", "phases")
	t.meta(tracePIDScenario, traceTIDOps, "thread_name", "ops")
	t.meta(tracePIDScenario, traceTIDSched, "thread_name", "scheduler")
	t.counters(v)
	t.scenario(v)
	t.workerGaps(v, DefaultGapThreshold)
	t.introspection(v)
	b, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("encoding the trace: %w", err)
	}
	return b, nil
}

func (t *Trace) add(e TraceEvent) { t.TraceEvents = append(t.TraceEvents, e) }

func (t *Trace) meta(pid, tid int, kind, name string) {
	t.add(TraceEvent{Name: kind, Ph: "M", PID: pid, TID: tid, Args: map[string]any{"name": name}})
}

// counters are one counter event per CPU per sample, named after the
// CPU, with nr_running, local_dsq and switches_per_s as its series
// (Perfetto shows each as its own track: "cpu0 nr_running").
func (t *Trace) counters(v *view) {
	m := v.run.Monitor
	if m == nil {
		return
	}
	for i, s := range m.Samples {
		for c, cpu := range s.CPUs {
			args := map[string]any{"nr_running": cpu.NrRunning, "local_dsq": cpu.LocalDSQ}
			if i > 0 && c < len(m.Samples[i-1].CPUs) {
				prev := m.Samples[i-1]
				if dt := s.At - prev.At; dt > 0 {
					args["switches_per_s"] = float64(cpu.NrSwitches-prev.CPUs[c].NrSwitches) / dt.Seconds()
				}
			}
			t.add(TraceEvent{Name: fmt.Sprintf("cpu%d", c), Cat: "monitor", Ph: "C", Ts: us(s.At), PID: tracePIDMonitor, Args: args})
		}
	}
	// Stall captures sit on a per-CPU thread of the monitor process.
	seen := map[int]bool{}
	for _, cp := range m.Captures {
		if !seen[cp.CPU] {
			t.meta(tracePIDMonitor, cp.CPU+1, "thread_name", fmt.Sprintf("cpu%d stalls", cp.CPU))
			seen[cp.CPU] = true
		}
		t.add(TraceEvent{Name: fmt.Sprintf("cpu%d stalled", cp.CPU), Cat: "stall", Ph: "i", S: "t", Ts: us(cp.At),
			PID: tracePIDMonitor, TID: cp.CPU + 1, Args: map[string]any{"where": cp.Where}})
	}
}

// scenario adds the phases and ops as slices and the scheduler's
// events: its attach as a slice, every event as an instant.
func (t *Trace) scenario(v *view) {
	for _, p := range v.phases {
		t.add(TraceEvent{Name: p.Name, Cat: "phase", Ph: "X", Ts: us(p.Start), Dur: us(p.End - p.Start), PID: tracePIDScenario, TID: traceTIDPhases})
	}
	for _, o := range v.ops {
		t.add(TraceEvent{Name: o.Name, Cat: "op", Ph: "X", Ts: us(o.Start), Dur: us(o.End - o.Start), PID: tracePIDScenario, TID: traceTIDOps})
	}
	for _, s := range v.sched {
		ev := s.Event
		args := map[string]any{"scheduler": ev.Name}
		if ev.Took > 0 {
			args["took_ms"] = ms(ev.Took)
			t.add(TraceEvent{Name: ev.Event + " " + ev.Name, Cat: "sched", Ph: "X", Ts: us(s.At - ev.Took), Dur: us(ev.Took),
				PID: tracePIDScenario, TID: traceTIDSched})
		}
		scope := "p"
		if ev.Exit != nil {
			scope = "g" // a death matters to every track
			args["reason"], args["message"], args["process"] = ev.Exit.Reason, ev.Exit.Message, ev.Exit.Process
		}
		t.add(TraceEvent{Name: "scheduler " + ev.Event, Cat: "sched", Ph: "i", S: scope, Ts: us(s.At),
			PID: tracePIDScenario, TID: traceTIDSched, Args: args})
	}
	for _, rec := range v.run.Records {
		if rec.Kind == guest.KindFinal {
			t.add(TraceEvent{Name: "final record", Cat: "guest", Ph: "i", S: "p", Ts: us(v.guestTime(rec.Elapsed)), PID: tracePIDScenario, TID: traceTIDPhases})
		}
	}
}

// workerGaps are one thread per worker, with every kept off-CPU gap of
// at least threshold as a slice.
func (t *Trace) workerGaps(v *view, threshold time.Duration) {
	t.meta(tracePIDWorkers, 0, "process_name", "workers (off-CPU gaps)")
	for wi := range v.workers {
		ws := &v.workers[wi]
		for ri := range ws.Reports {
			r := &ws.Reports[ri]
			tid := r.PID
			if len(r.TIDs) > 0 {
				tid = r.TIDs[0]
			}
			t.meta(tracePIDWorkers, tid, "thread_name", r.Name())
			for _, g := range r.Gaps {
				if g.Len() < threshold {
					continue
				}
				t.add(TraceEvent{Name: fmt.Sprintf("off CPU %.1f ms", ms(g.Len())), Cat: "gap", Ph: "X",
					Ts: us(v.workerTime(ws, r, g.Start)), Dur: us(g.Len()), PID: tracePIDWorkers, TID: tid,
					Args: map[string]any{"cpu_before": g.CPU, "tid": g.TID}})
			}
		}
	}
}
