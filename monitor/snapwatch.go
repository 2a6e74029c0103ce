package monitor

import (
	"fmt"
	"time"
)

// DefaultSnapshotEvery is how often Run refreshes the snapshot it keeps
// while sched_ext is enabled, the one reported when sched_ext leaves the
// enabled state (TriggerDisabled): a scheduler's state just before it
// died, since once it is gone sched_ext has freed its queues.
const DefaultSnapshotEvery = time.Second

// maxSnapshots bounds the snapshots of one run, so a run that keeps
// asking cannot grow its report without end.
const maxSnapshots = 32

// maxWatchdogSnapshots bounds TriggerWatchdog snapshots per run.
const maxWatchdogSnapshots = 2

// SnapshotRequest asks Run for a snapshot now (Config.Requests).
type SnapshotRequest struct {
	Name    string
	Trigger Trigger
}

// snapWatch takes the snapshots of one Run: those asked for, and those
// Run takes on its own (a stall, a task halfway to the watchdog, the
// last state before sched_ext was disabled).
type snapWatch struct {
	walk   PageWalker
	every  time.Duration
	onSnap func(Snapshot)

	last      *Snapshot // the latest periodic one while enabled
	lastAt    time.Duration
	enabled   bool // sched_ext was enabled at the last sample
	halfway   bool // a watchdog snapshot was taken in the current wait
	nWatchdog int
}

func newSnapWatch(cfg Config) *snapWatch {
	every := cfg.SnapshotEvery
	if every == 0 {
		every = DefaultSnapshotEvery
	}
	return &snapWatch{walk: cfg.PageWalk, every: every, onSnap: cfg.OnSnapshot}
}

// request serves a SnapshotRequest; before the guest is ready the
// snapshot only says so.
func (w *snapWatch) request(g *Guest, r *Report, req SnapshotRequest, at time.Duration) {
	if req.Trigger == "" {
		req.Trigger = TriggerRequest
	}
	if g == nil {
		w.keep(r, Snapshot{Name: req.Name, Trigger: req.Trigger, At: at, Notes: []string{"not taken: the guest kernel was not ready for the monitor yet"}})
		return
	}
	w.take(g, r, req.Name, req.Trigger, at)
}

// take reads a snapshot and keeps it.
func (w *snapWatch) take(g *Guest, r *Report, name string, trig Trigger, at time.Duration) {
	s := g.Snapshot(w.walk, name, trig)
	s.At = at
	w.keep(r, s)
}

func (w *snapWatch) keep(r *Report, s Snapshot) {
	if len(r.Snapshots) >= maxSnapshots {
		return
	}
	r.Snapshots = append(r.Snapshots, s)
	if w.onSnap != nil {
		w.onSnap(s)
	}
}

// observe runs after every sample: it refreshes the periodic snapshot,
// reports it when sched_ext stops being enabled, and takes one when a
// runnable task has waited half the watchdog timeout.
func (w *snapWatch) observe(g *Guest, r *Report, at time.Duration) {
	l := &g.k.intro.scx
	if !l.ok || g.k.syms.scxEnableState == 0 {
		return
	}
	is, err := g.intro(w.walk)
	if err != nil {
		return
	}
	v, err := is.m.u32(g.k.syms.scxEnableState)
	if err != nil {
		return
	}
	enabled := l.enableStates[uint64(v)] == "SCX_OPS_ENABLED"
	if w.enabled && !enabled && w.last != nil {
		s := *w.last
		s.Name, s.Trigger = "last while sched_ext was enabled", TriggerDisabled
		w.keep(r, s)
		w.last = nil
	}
	w.enabled = enabled
	if !enabled {
		return
	}
	if w.every > 0 && (w.last == nil || at-w.lastAt >= w.every) {
		s := g.Snapshot(w.walk, "periodic", TriggerDisabled)
		s.At = at
		w.last, w.lastAt = &s, at
	}
	w.watchdog(g, is, r, at)
}

// watchdog takes a snapshot once per episode on the way to a watchdog
// kill, by either of the kernel's two criteria: the longest-waiting
// runnable task reaches half of scx_watchdog_timeout, or the watchdog's
// own work has not checked in (scx_watchdog_timestamp) for three
// quarters of it. The work runs every half timeout, so a healthy
// check-in is up to half a timeout old, and the kernel kills at a whole
// one ("watchdog failed to check in": its kworker was starved too,
// which may come before any task has waited half). An episode ends when
// the waits drop under a quarter and the check-in is back in its period.
func (w *snapWatch) watchdog(g *Guest, is *introState, r *Report, at time.Duration) {
	if w.nWatchdog >= maxWatchdogSnapshots || g.k.syms.jiffies == 0 || g.k.syms.scxWatchdogTimeout == 0 {
		return
	}
	jiffies, err := is.m.u64(g.k.syms.jiffies)
	if err != nil {
		return
	}
	timeout, err := is.m.u64(g.k.syms.scxWatchdogTimeout)
	if err != nil || timeout == 0 {
		return
	}
	rd := g.scxReader(is, jiffies)
	var worst uint64
	cpu := 0
	for c := range g.rq {
		if wt, err := rd.oldestWait(g.rqAddr(is, c)); err == nil && wt > worst {
			worst, cpu = wt, c
		}
	}
	checkin := w.checkinAge(g, is, jiffies)
	switch {
	case worst < timeout/4 && checkin < timeout/2:
		w.halfway = false
	case w.halfway:
	case worst >= timeout/2:
		w.halfway = true
		w.nWatchdog++
		w.take(g, r, fmt.Sprintf("a task on cpu%d waited %v of the %v watchdog timeout", cpu,
			ns(worst*is.tick()), ns(timeout*is.tick())), TriggerWatchdog, at)
	case checkin >= timeout*3/4:
		w.halfway = true
		w.nWatchdog++
		w.take(g, r, fmt.Sprintf("the sched_ext watchdog had not checked in for %v of the %v timeout (longest task wait %v)",
			ns(checkin*is.tick()), ns(timeout*is.tick()), ns(worst*is.tick())), TriggerWatchdog, at)
	}
}

// checkinAge is how long ago, in jiffies, sched_ext's watchdog work last
// ran; zero when the kernel does not say.
func (w *snapWatch) checkinAge(g *Guest, is *introState, jiffies uint64) uint64 {
	if g.k.syms.scxWatchdogTimestamp == 0 {
		return 0
	}
	// scx_watchdog_timestamp is an unsigned long of jiffies.
	ts, err := is.m.u64(g.k.syms.scxWatchdogTimestamp)
	if err != nil || ts > jiffies || jiffies-ts >= 1<<40 {
		return 0
	}
	return jiffies - ts
}
