package scenario

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/verdict"
)

// ExecuteDefs runs the cgroups for the whole duration and checks their
// workers: the one-call form of a scenario.
func ExecuteDefs(ctx *Ctx, defs ...CgroupDef) error {
	return ExecuteSteps(ctx, Step{Defs: defs, Hold: Frac(1)})
}

// ExecuteSteps runs steps in order, then stops every worker and checks
// the reports.
func ExecuteSteps(ctx *Ctx, steps ...Step) error {
	return ExecuteScenario(ctx, Scenario{Steps: steps})
}

// ExecuteScenario runs a scenario: backdrop, steps, checks. It returns a
// *CheckError when a check fails, another error when the scenario could
// not be carried out; either way the findings are merged into
// ctx.Result(). Everything it created is gone when it returns.
func ExecuteScenario(ctx *Ctx, sc Scenario) (err error) {
	r := &run{ctx: ctx, sc: sc, groups: map[string]*group{}, log: ctx.Log.With(zap.String("scenario", sc.Name))}
	var res AssertResult
	if sc.MinCPUs > ctx.Topo.NumCPUs() {
		res.Add(Detail{Check: "scenario", Verdict: verdict.Skip, Worker: -1,
			Message: fmt.Sprintf("scenario %s needs %d cpus, the guest has %d", sc.Name, sc.MinCPUs, ctx.Topo.NumCPUs())})
		ctx.Record(res)
		return nil
	}
	runErr := r.execute()
	res = r.finish()
	if runErr != nil {
		res.Add(Detail{Check: "scenario", Verdict: verdict.Fail, Worker: -1, Message: runErr.Error()})
	}
	ctx.Record(res)
	if runErr != nil {
		return runErr
	}
	return res.Err()
}

// run is the state of one ExecuteScenario.
type run struct {
	ctx      *Ctx
	sc       Scenario
	log      *zap.Logger
	groups   map[string]*group
	order    []string // creation order of live groups
	removed  []*group
	detached bool
	schedErr error
	// payloads started in the background (StartPayload), waited for
	// before the checks.
	payloads []*bgPayload
	// payloadRes gathers every payload's findings.
	payloadRes AssertResult
}

// group is a cgroup made from a def, with its workloads.
type group struct {
	def      CgroupDef
	checks   Assert
	loads    []*Workload
	frozenAt int64
}

func (r *run) group(name string) (*group, error) {
	g, ok := r.groups[name]
	if !ok {
		return nil, fmt.Errorf("no cgroup %q in this scenario (have %v)", name, r.order)
	}
	return g, nil
}

func (r *run) execute() error {
	if len(r.sc.Backdrop) > 0 {
		if err := r.addDefs(r.sc.Backdrop); err != nil {
			return fmt.Errorf("backdrop: %w", err)
		}
	}
	for i, st := range r.sc.Steps {
		name := st.Name
		if name == "" {
			name = fmt.Sprintf("step %d", i+1)
		}
		if r.sc.Name != "" {
			name = r.sc.Name + ": " + name
		}
		r.ctx.emit(guest.KindPhase, map[string]any{"name": name, "step": i + 1, "hold": st.Hold.String()})
		r.log.Debug("step", zap.String("name", name))
		if len(st.Defs) > 0 {
			if err := r.addDefs(st.Defs); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		for _, op := range st.Ops {
			t0 := time.Now()
			if err := op.do(r); err != nil {
				return fmt.Errorf("%s: %s: %w", name, op, err)
			}
			r.ctx.emit(guest.KindOp, guest.OpEvent{Step: i + 1, Op: op.String(), Took: time.Since(t0)})
		}
		r.ctx.emit(guest.KindHold, guest.Hold{Step: i + 1})
		err := r.hold(st.Hold)
		r.ctx.emit(guest.KindHold, guest.Hold{Step: i + 1, End: true})
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if r.schedErr != nil {
			return nil // finish() reports it; no point going on
		}
	}
	return nil
}

// addDefs creates the cgroups, spawns every worker, places them, and only
// then starts them all.
func (r *run) addDefs(defs []CgroupDef) error {
	type planned struct {
		def  CgroupDef
		cpus CPUSet
	}
	var plan []planned
	for _, d := range defs {
		if err := d.validate(); err != nil {
			return err
		}
		if _, dup := r.groups[d.name]; dup {
			return fmt.Errorf("cgroup %s already exists in this scenario", d.name)
		}
		p := planned{def: d}
		if !d.cpuset.IsZero() {
			c, err := d.cpuset.Resolve(r.ctx.Topo)
			if err != nil {
				return fmt.Errorf("cgroup %s: %w", d.name, err)
			}
			p.cpus = c
		}
		if d.perCPU > 0 {
			n := r.ctx.Topo.NumCPUs()
			if !p.cpus.Empty() {
				n = p.cpus.Len()
			}
			p.def = d.Workers(d.perCPU * n)
		}
		plan = append(plan, p)
	}
	cg := r.ctx.Cgroups
	for _, p := range plan {
		d := p.def
		if err := cg.Create(d.name); err != nil {
			return err
		}
		g := &group{def: d, checks: r.ctx.Checks}
		for _, f := range d.checks {
			f(&g.checks)
		}
		r.groups[d.name] = g
		r.order = append(r.order, d.name)
		if !p.cpus.Empty() {
			if err := cg.SetCpuset(d.name, p.cpus); err != nil {
				return err
			}
		}
		if d.memsSet {
			if err := cg.SetMems(d.name, d.mems); err != nil {
				return err
			}
		}
		if d.weight != 0 {
			if err := cg.SetWeight(d.name, d.weight); err != nil {
				return err
			}
		}
		if d.quota != 0 {
			if err := cg.SetMax(d.name, d.quota, d.period); err != nil {
				return err
			}
		}
	}
	if r.ctx.Settle > 0 {
		time.Sleep(r.ctx.Settle)
	}
	var fresh []*Workload
	for _, p := range plan {
		if p.def.workers == 0 {
			continue
		}
		w, err := r.spawn(r.groups[p.def.name], p.def)
		if err != nil {
			return err
		}
		fresh = append(fresh, w)
	}
	for _, w := range fresh {
		if err := w.Start(); err != nil {
			return err
		}
	}
	return nil
}

// spawn starts d's workers, places them in g's cgroup and applies d's
// affinity; they wait for Start.
func (r *run) spawn(g *group, d CgroupDef) (*Workload, error) {
	w, err := r.ctx.Spawn(WorkloadConfig{Workers: d.workers, Work: d.work, MemPolicy: d.mempol, Policy: d.policy, Nice: d.nice, Label: g.def.name})
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: %w", g.def.name, err)
	}
	g.loads = append(g.loads, w)
	if err := r.ctx.Cgroups.Move(w, g.def.name); err != nil {
		return nil, err
	}
	if !d.affinity.IsZero() {
		cpus, err := d.affinity.Resolve(r.ctx.Topo)
		if err != nil {
			return nil, fmt.Errorf("cgroup %s affinity: %w", g.def.name, err)
		}
		if err := w.SetAffinity(cpus); err != nil {
			return nil, fmt.Errorf("cgroup %s: %w", g.def.name, err)
		}
	}
	return w, nil
}

// stop stops g's workloads (thawing it first: frozen workers cannot
// report).
func (r *run) stop(g *group) error {
	if err := r.thaw(g); err != nil {
		return err
	}
	var errs []error
	for _, w := range g.loads {
		if _, err := w.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("cgroup %s: %w", g.def.name, err))
		}
	}
	return errors.Join(errs...)
}

func (r *run) remove(name string) error {
	if _, err := r.group(name); err != nil {
		return err
	}
	for _, n := range slices.Clone(r.order) {
		if n != name && !strings.HasPrefix(n, name+"/") {
			continue
		}
		g := r.groups[n]
		if err := r.stop(g); err != nil {
			return err
		}
		r.removed = append(r.removed, g)
		delete(r.groups, n)
		r.order = slices.DeleteFunc(r.order, func(x string) bool { return x == n })
	}
	return r.ctx.Cgroups.Remove(name)
}

func (r *run) freeze(g *group) error {
	if g.frozenAt != 0 {
		return nil
	}
	at := monoNow()
	if err := r.ctx.Cgroups.Freeze(g.def.name); err != nil {
		return err
	}
	g.frozenAt = at
	return nil
}

func (r *run) thaw(g *group) error {
	if g.frozenAt == 0 {
		return nil
	}
	if err := r.ctx.Cgroups.Thaw(g.def.name); err != nil {
		return err
	}
	// A thawed task needs a moment to be scheduled again; that moment is
	// still the freeze's doing, hence the small tail.
	iv := Interval{g.frozenAt, monoNow() + int64(10*time.Millisecond)}
	for _, w := range g.loads {
		w.Excuse(iv)
	}
	g.frozenAt = 0
	return nil
}

// How often a hold checks that the scheduler is alive, and how often it
// evaluates an until-condition.
const (
	aliveEvery = 250 * time.Millisecond
	untilEvery = 20 * time.Millisecond
)

// hold waits as h says, watching the scheduler.
func (r *run) hold(h HoldSpec) error {
	var d time.Duration
	switch {
	case h.until != nil:
		d = h.timeout
	case h.fixed > 0:
		d = h.fixed
	default:
		d = time.Duration(h.frac * float64(r.ctx.Duration))
	}
	end := time.Now().Add(d)
	// Wake only as often as there is something to check: every wake-up
	// of the harness takes CPU from the workers it measures (under
	// emulation a few milliseconds each).
	poll := aliveEvery
	if h.until != nil {
		poll = untilEvery
	}
	var lastAlive time.Time
	for {
		if h.until != nil && h.until(r.ctx) {
			return nil
		}
		if time.Since(lastAlive) >= aliveEvery {
			lastAlive = time.Now()
			if !r.alive() {
				return nil
			}
		}
		left := time.Until(end)
		if left <= 0 {
			break
		}
		time.Sleep(min(left, poll))
	}
	if h.until != nil {
		return fmt.Errorf("condition not met within %s", h.timeout)
	}
	return nil
}

// alive checks the scheduler (unless detached on purpose) and remembers
// the first failure.
func (r *run) alive() bool {
	if r.schedErr != nil {
		return false
	}
	if r.ctx.Scheduler == nil || r.detached {
		return true
	}
	if err := r.ctx.Scheduler.Alive(); err != nil {
		r.schedErr = err
		r.log.Warn("scheduler died", zap.Error(err))
		return false
	}
	return true
}

// finish stops every worker, judges all reports, emits them and removes
// the scenario's cgroups.
func (r *run) finish() AssertResult {
	var res AssertResult
	var errs []error
	r.endSnapshot()
	all := append(slices.Clone(r.removed), r.liveGroups()...)
	// Background payloads end before the workers beside them stop.
	r.waitPayloads()
	res.Merge(r.payloadRes)
	for _, g := range r.liveGroups() {
		if err := r.stop(g); err != nil {
			errs = append(errs, err)
		}
	}
	if r.schedErr == nil {
		r.alive()
	}
	if r.schedErr != nil {
		name := r.ctx.Scheduler.Name()
		res.Add(Detail{Check: "scheduler", Verdict: verdict.Fail, Worker: -1, Message: fmt.Sprintf("scheduler %s died: %v", name, r.schedErr)})
	}
	byCgroup := map[string][]WorkerReport{}
	var reports []WorkerReport
	for _, g := range all {
		var rs []WorkerReport
		for _, w := range g.loads {
			got, err := w.Stop()
			if err != nil && len(got) == 0 {
				continue
			}
			rs = append(rs, got...)
		}
		res.Merge(g.checks.Evaluate(rs))
		byCgroup[g.def.name] = append(byCgroup[g.def.name], rs...)
		reports = append(reports, rs...)
	}
	for _, chk := range r.sc.Checks {
		for _, d := range chk(r.ctx, byCgroup) {
			res.Add(d)
		}
	}
	r.ctx.emit(guest.KindWorkers, map[string]any{"scenario": r.sc.Name, "reports": reports})
	r.log.Debug("workers\n" + FormatReports(reports))
	r.ctx.lastReports = reports
	// Remove by top-level name: that also takes parents Create made
	// implicitly for nested names.
	var tops []string
	for _, g := range all {
		top, _, _ := strings.Cut(g.def.name, "/")
		if !slices.Contains(tops, top) {
			tops = append(tops, top)
		}
	}
	for _, n := range tops {
		if err := r.ctx.Cgroups.Remove(n); err != nil {
			errs = append(errs, err)
		}
	}
	for _, err := range errs {
		res.Add(Detail{Check: "cleanup", Verdict: verdict.Fail, Worker: -1, Message: err.Error()})
	}
	return res
}

func (r *run) liveGroups() []*group {
	out := make([]*group, 0, len(r.order))
	for _, n := range r.order {
		out = append(out, r.groups[n])
	}
	return out
}
