package ktstr

import (
	"encoding/json"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/probe"
)

// bodyProbes are the probes of one test body: the test's (Opts.Probes)
// and an auto-repro's, from the run plan in a VM (guest.Plan.Probes).
// Every method does nothing on a nil receiver, a body without probes.
type bodyProbes struct {
	specs []probe.Spec
	// table is the host's probe.Table (nil: the guest parses its BTF).
	table *probe.Table
	emit  func(kind string, payload any)

	mu sync.Mutex
	s  *probe.Session
}

// newBodyProbes merges own specs with a list as probe.Format writes it
// (the run plan's: the test's probes and an auto-repro's); nil when
// there are none. table is the run plan's probe.Table as JSON (empty:
// none). A list that does not parse is reported as a probe report, and
// own specs still run; a table that does not parse is logged and left
// out (the guest then parses its own BTF).
func newBodyProbes(own []probe.Spec, list string, table json.RawMessage, emit func(kind string, payload any), log *zap.Logger) *bodyProbes {
	extra, err := probe.Parse(list)
	if err != nil {
		emit(guest.KindProbe, probe.Report{Missing: []probe.Missing{{Func: list, Why: err.Error()}}})
	}
	specs := probe.Merge(own, extra)
	if len(specs) == 0 {
		return nil
	}
	bp := &bodyProbes{specs: specs, emit: emit}
	if len(table) > 0 {
		bp.table = new(probe.Table)
		if err := json.Unmarshal(table, bp.table); err != nil {
			log.Warn("the host's probe table does not parse; reading the kernel's BTF here", zap.Error(err))
			bp.table = nil
		}
	}
	return bp
}

// start attaches the probes on kernel functions, before the scheduler
// starts (see probe.Start); a failure to set any up is reported as a
// probe report, and the test runs on without them.
func (bp *bodyProbes) start(log *zap.Logger) {
	if bp == nil {
		return
	}
	s, err := probe.Start(probe.Options{Specs: bp.specs, Table: bp.table, Emit: func(r probe.Report) { bp.emit(guest.KindProbe, r) }, Log: log})
	if err != nil {
		bp.emit(guest.KindProbe, probe.Report{Missing: []probe.Missing{{Func: probe.Format(bp.specs), Why: err.Error()}}})
		return
	}
	bp.mu.Lock()
	bp.s = s
	bp.mu.Unlock()
	activeProbes.Store(bp)
}

func (bp *bodyProbes) session() *probe.Session {
	if bp == nil {
		return nil
	}
	bp.mu.Lock()
	defer bp.mu.Unlock()
	return bp.s
}

// callbacks attaches the probes on the scheduler's callbacks, once it
// has attached (or at once without a scheduler).
func (bp *bodyProbes) callbacks() {
	if s := bp.session(); s != nil {
		s.AttachCallbacks()
	}
}

// schedEmit wraps the scheduler's record sink: it forwards each record
// and, when the scheduler died, sends the probes' tail, the calls that
// led up to the death.
func (bp *bodyProbes) schedEmit(emit func(kind string, payload any)) func(kind string, payload any) {
	if bp == nil {
		return emit
	}
	return func(kind string, payload any) {
		emit(kind, payload)
		ev, ok := payload.(guest.SchedEvent)
		if kind != guest.KindSched || !ok || ev.Event != "died" || ev.Exit == nil {
			return
		}
		if s := bp.session(); s != nil {
			s.Flush("scheduler " + ev.Name + " died: " + ev.Exit.Reason)
		}
	}
}

// stop sends the last report and detaches the probes.
func (bp *bodyProbes) stop(log *zap.Logger) {
	if bp == nil {
		return
	}
	bp.mu.Lock()
	s := bp.s
	bp.s = nil
	bp.mu.Unlock()
	if s == nil {
		return
	}
	if err := s.Close(); err != nil {
		log.Warn("detaching probes", zap.Error(err))
	}
}

// activeProbes is the running test body's probes, for ProbeCalls.
var activeProbes atomic.Pointer[bodyProbes]

// ProbeCalls says, inside the guest, how often a probed function
// (Opts.Probes) has been called so far; false outside a guest, or when
// fn is not probed.
func ProbeCalls(fn string) (uint64, bool) {
	s := activeProbes.Load().session()
	if s == nil {
		return 0, false
	}
	return s.Calls(fn)
}
