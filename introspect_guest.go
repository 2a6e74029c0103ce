package ktstr

import (
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/probe"
)

// probesKey carries probes the host adds to a test's own (an
// auto-repro's) on the guest's command line.
const probesKey = "ktstr.probes"

// guestProbes are the probes of one test body in the guest: the test's
// (Opts.Probes) and the host's, attached once the scheduler is up.
type guestProbes struct {
	mu sync.Mutex
	s  *probe.Session
}

// start attaches the probes on kernel functions, before the scheduler
// starts (see probe.Start); a failure to set any up is reported to the
// host as a probe report, and the test runs on without them.
func (gp *guestProbes) start(opts *Opts, log *zap.Logger) {
	extra, err := probe.Parse(guest.CmdlineValue(probesKey))
	if err != nil {
		emit(guest.KindProbe, probe.Report{Missing: []probe.Missing{{Func: probesKey, Why: err.Error()}}})
	}
	specs := probe.Merge(opts.Probes, extra)
	if len(specs) == 0 {
		return
	}
	s, err := probe.Start(probe.Options{Specs: specs, Emit: func(r probe.Report) { emit(guest.KindProbe, r) }, Log: log})
	if err != nil {
		emit(guest.KindProbe, probe.Report{Missing: []probe.Missing{{Func: probe.Format(specs), Why: err.Error()}}})
		return
	}
	gp.mu.Lock()
	gp.s = s
	gp.mu.Unlock()
	activeProbes.Store(gp)
}

// callbacks attaches the probes on the scheduler's callbacks, once it
// has attached (or at once without a scheduler).
func (gp *guestProbes) callbacks() {
	gp.mu.Lock()
	s := gp.s
	gp.mu.Unlock()
	if s != nil {
		s.AttachCallbacks()
	}
}

// schedEmit is the scheduler's record sink: it forwards the record and,
// when the scheduler died, sends the probes' tail, the calls that led up
// to the death.
func (gp *guestProbes) schedEmit(kind string, payload any) {
	emit(kind, payload)
	ev, ok := payload.(guest.SchedEvent)
	if kind != guest.KindSched || !ok || ev.Event != "died" || ev.Exit == nil {
		return
	}
	gp.mu.Lock()
	s := gp.s
	gp.mu.Unlock()
	if s != nil {
		s.Flush("scheduler " + ev.Name + " died: " + ev.Exit.Reason)
	}
}

// stop sends the last report and detaches the probes.
func (gp *guestProbes) stop(log *zap.Logger) {
	gp.mu.Lock()
	s := gp.s
	gp.s = nil
	gp.mu.Unlock()
	if s == nil {
		return
	}
	if err := s.Close(); err != nil {
		log.Warn("detaching probes", zap.Error(err))
	}
}

// activeProbes is the running test body's probes, for ProbeCalls.
var activeProbes atomic.Pointer[guestProbes]

// ProbeCalls says, inside the guest, how often a probed function
// (Opts.Probes) has been called so far; false outside a guest, or when
// fn is not probed.
func ProbeCalls(fn string) (uint64, bool) {
	gp := activeProbes.Load()
	if gp == nil {
		return 0, false
	}
	gp.mu.Lock()
	s := gp.s
	gp.mu.Unlock()
	if s == nil {
		return 0, false
	}
	return s.Calls(fn)
}
