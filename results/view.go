package results

import (
	"encoding/json"
	"time"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/scenario"
)

// view is a Run decoded once for every writer: the guest's records
// parsed and placed on the monitor's timeline (time since the VM started).
type view struct {
	run *Run
	// offset turns a guest time (since guest init) into timeline time;
	// aligned says whether it came from host receive times.
	offset  time.Duration
	aligned bool
	// mono0 is the guest's CLOCK_MONOTONIC at guest time zero (0: not
	// known), which places worker gaps.
	mono0   int64
	phases  []span
	open    *span // the phase under way while records are added
	ops     []span
	sched   []schedMark
	workers []workerSet
	end     time.Duration
}

// span is a named interval on the timeline.
type span struct {
	Name       string
	Start, End time.Duration
}

// schedMark is one scheduler event on the timeline.
type schedMark struct {
	At    time.Duration
	Event guest.SchedEvent
}

// workerSet is one scenario's worker reports.
type workerSet struct {
	Scenario string                  `json:"scenario"`
	Reports  []scenario.WorkerReport `json:"reports"`
	// at is when the workers record arrived (timeline time).
	at time.Duration
}

func newView(r *Run) *view {
	v := &view{run: r}
	v.align()
	for _, rec := range r.Records {
		v.add(rec)
	}
	if m := r.Monitor; m != nil && len(m.Samples) > 0 {
		v.end = max(v.end, m.Samples[len(m.Samples)-1].At)
	}
	v.closePhase(v.end)
	return v
}

// add places one record on the timeline.
func (v *view) add(rec Record) {
	at := v.guestTime(rec.Elapsed)
	v.end = max(v.end, at)
	switch rec.Kind {
	case guest.KindStart:
		var s guest.Start
		if rec.Decode(&s) == nil && s.Mono > 0 {
			v.mono0 = s.Mono - int64(rec.Elapsed)
		}
	case guest.KindPhase:
		var p struct {
			Name string `json:"name"`
		}
		_ = rec.Decode(&p)
		v.closePhase(at)
		v.open = &span{Name: p.Name, Start: at}
	case guest.KindOp:
		var o guest.OpEvent
		if rec.Decode(&o) == nil {
			v.ops = append(v.ops, span{Name: o.Op, Start: max(at-o.Took, 0), End: at})
		}
	case guest.KindSched:
		var ev guest.SchedEvent
		if rec.Decode(&ev) == nil {
			v.sched = append(v.sched, schedMark{At: at, Event: ev})
		}
	case guest.KindWorkers:
		// A scenario's phases end when it reports its workers.
		v.closePhase(at)
		var w workerSet
		if rec.Decode(&w) == nil {
			w.at = at
			v.workers = append(v.workers, w)
		}
	case guest.KindFinal:
		v.closePhase(at)
	}
}

// closePhase ends the phase under way, if any, at at.
func (v *view) closePhase(at time.Duration) {
	if v.open != nil {
		v.open.End = max(at, v.open.Start)
		v.phases = append(v.phases, *v.open)
		v.open = nil
	}
}

// align finds the offset from guest time to timeline time: the smallest
// (received - sent) over the records, i.e. the record that crossed the
// channel fastest. Without receive times guest time is taken as is.
func (v *view) align() {
	first := true
	for _, rec := range v.run.Records {
		if rec.Host <= 0 {
			continue
		}
		d := rec.Host - rec.Elapsed
		if first || d < v.offset {
			v.offset, first = d, false
		}
	}
	v.aligned = !first
}

// guestTime places a guest time (since guest init) on the timeline.
func (v *view) guestTime(elapsed time.Duration) time.Duration { return elapsed + v.offset }

// monoTime places a guest CLOCK_MONOTONIC time on the timeline; ok is
// false when the guest did not say where its monotonic clock stood.
func (v *view) monoTime(mono int64) (time.Duration, bool) {
	if v.mono0 == 0 {
		return 0, false
	}
	return v.guestTime(time.Duration(mono - v.mono0)), true
}

// allWorkers is every worker report of every scenario.
func (v *view) allWorkers() []scenario.WorkerReport {
	var out []scenario.WorkerReport
	for _, w := range v.workers {
		out = append(out, w.Reports...)
	}
	return out
}

// rawWorkers is workers.json's content.
func (v *view) rawWorkers() json.RawMessage {
	b, _ := json.Marshal(v.workers)
	if v.workers == nil {
		return json.RawMessage("[]")
	}
	return b
}

// workerTime places a worker's CLOCK_MONOTONIC time on the timeline: by
// the guest's monotonic clock when the start record gave it, else by
// assuming the worker's window ended when its scenario's record was sent.
func (v *view) workerTime(ws *workerSet, r *scenario.WorkerReport, mono int64) time.Duration {
	if at, ok := v.monoTime(mono); ok {
		return at
	}
	return ws.at - r.Wall + time.Duration(mono-r.StartMono)
}
