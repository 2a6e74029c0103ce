package scenario

import (
	"errors"
	"fmt"
	"time"

	"github.com/ktstr-go/ktstr/verdict"
)

// Op is one action in a Step: change cgroups, workers or the scheduler.
// Build ops with the constructors below (AddCgroup, SetCpuset, ...).
type Op struct {
	desc string
	do   func(r *run) error
}

// String describes the op, e.g. "set_cpuset(cg_0, llc(1))".
func (o Op) String() string { return o.desc }

// AddCgroup creates cgroups and starts their workers (all placed first,
// then started together).
func AddCgroup(defs ...CgroupDef) Op {
	names := make([]string, len(defs))
	for i, d := range defs {
		names[i] = d.name
	}
	return Op{fmt.Sprintf("add_cgroup%v", names), func(r *run) error { return r.addDefs(defs) }}
}

// RemoveCgroup stops the cgroup's workers (keeping their reports) and
// removes it and its descendants.
func RemoveCgroup(name string) Op {
	return Op{"remove_cgroup(" + name + ")", func(r *run) error { return r.remove(name) }}
}

// StopCgroup stops the cgroup's workers and keeps their reports; the
// cgroup stays.
func StopCgroup(name string) Op {
	return Op{"stop_cgroup(" + name + ")", func(r *run) error {
		g, err := r.group(name)
		if err != nil {
			return err
		}
		return r.stop(g)
	}}
}

// SetCpuset changes the cgroup's cpuset.
func SetCpuset(name string, spec CpusetSpec) Op {
	return Op{fmt.Sprintf("set_cpuset(%s, %s)", name, spec), func(r *run) error {
		cpus, err := spec.Resolve(r.ctx.Topo)
		if err != nil {
			return err
		}
		return r.ctx.Cgroups.SetCpuset(name, cpus)
	}}
}

// ClearCpuset lifts the cgroup's cpuset restriction.
func ClearCpuset(name string) Op {
	return Op{"clear_cpuset(" + name + ")", func(r *run) error { return r.ctx.Cgroups.ClearCpuset(name) }}
}

// SwapCpusets exchanges the cpusets of two cgroups. Each must have one.
func SwapCpusets(a, b string) Op {
	return Op{fmt.Sprintf("swap_cpusets(%s, %s)", a, b), func(r *run) error {
		ca, okA := r.ctx.Cgroups.Cpuset(a)
		cb, okB := r.ctx.Cgroups.Cpuset(b)
		if !okA || !okB {
			return fmt.Errorf("swapping cpusets needs both %s and %s to have one", a, b)
		}
		// Widen first, then narrow, so neither cgroup is ever empty
		// while the other still holds a CPU it needs.
		if err := r.ctx.Cgroups.SetCpuset(a, ca.Union(cb)); err != nil {
			return err
		}
		if err := r.ctx.Cgroups.SetCpuset(b, cb.Union(ca)); err != nil {
			return err
		}
		if err := r.ctx.Cgroups.SetCpuset(a, cb); err != nil {
			return err
		}
		return r.ctx.Cgroups.SetCpuset(b, ca)
	}}
}

// SpawnWorkers adds n more workers, as the cgroup's def describes, to a
// running cgroup.
func SpawnWorkers(name string, n int) Op {
	return Op{fmt.Sprintf("spawn(%s, %d)", name, n), func(r *run) error {
		g, err := r.group(name)
		if err != nil {
			return err
		}
		w, err := r.spawn(g, g.def.Workers(n))
		if err != nil {
			return err
		}
		return w.Start()
	}}
}

// SetAffinity pins the cgroup's worker threads to the CPUs of spec.
func SetAffinity(name string, spec CpusetSpec) Op {
	return Op{fmt.Sprintf("set_affinity(%s, %s)", name, spec), func(r *run) error {
		g, err := r.group(name)
		if err != nil {
			return err
		}
		cpus, err := spec.Resolve(r.ctx.Topo)
		if err != nil {
			return err
		}
		var errs []error
		for _, w := range g.loads {
			if !w.Stopped() {
				errs = append(errs, w.SetAffinity(cpus))
			}
		}
		return errors.Join(errs...)
	}}
}

// MoveAllTasks moves every worker of cgroup from into cgroup to; from's
// workers are judged with to's checks from then on.
func MoveAllTasks(from, to string) Op {
	return Op{fmt.Sprintf("move_all_tasks(%s -> %s)", from, to), func(r *run) error {
		src, err := r.group(from)
		if err != nil {
			return err
		}
		dst, err := r.group(to)
		if err != nil {
			return err
		}
		for _, w := range src.loads {
			if w.Stopped() {
				continue
			}
			if err := r.ctx.Cgroups.Move(w, to); err != nil {
				return err
			}
			dst.loads = append(dst.loads, w)
		}
		src.loads = nil
		return nil
	}}
}

// FreezeCgroup freezes the cgroup (cgroup.freeze). Its workers' gaps while
// frozen are excused.
func FreezeCgroup(name string) Op {
	return Op{"freeze(" + name + ")", func(r *run) error {
		g, err := r.group(name)
		if err != nil {
			return err
		}
		return r.freeze(g)
	}}
}

// ThawCgroup unfreezes the cgroup.
func ThawCgroup(name string) Op {
	return Op{"thaw(" + name + ")", func(r *run) error {
		g, err := r.group(name)
		if err != nil {
			return err
		}
		return r.thaw(g)
	}}
}

// SetWeight changes the cgroup's cpu.weight.
func SetWeight(name string, weight int) Op {
	return Op{fmt.Sprintf("set_weight(%s, %d)", name, weight), func(r *run) error { return r.ctx.Cgroups.SetWeight(name, weight) }}
}

// AttachScheduler attaches the scheduler under test.
func AttachScheduler() Op {
	return Op{"attach_scheduler", func(r *run) error {
		if r.ctx.Scheduler == nil {
			return errors.New("attach_scheduler: this test runs without a scheduler (EEVDF); set ktstr.Opts.Scheduler")
		}
		if err := r.ctx.Scheduler.Attach(); err != nil {
			return fmt.Errorf("attaching %s: %w", r.ctx.Scheduler.Name(), err)
		}
		r.detached = false
		return nil
	}}
}

// DetachScheduler detaches the scheduler under test (tasks fall back to
// EEVDF); liveness checks pause until it is attached again.
func DetachScheduler() Op {
	return Op{"detach_scheduler", func(r *run) error {
		if r.ctx.Scheduler == nil {
			return errors.New("detach_scheduler: this test runs without a scheduler (EEVDF); set ktstr.Opts.Scheduler")
		}
		r.detached = true
		if err := r.ctx.Scheduler.Detach(); err != nil {
			return fmt.Errorf("detaching %s: %w", r.ctx.Scheduler.Name(), err)
		}
		return nil
	}}
}

// Do runs fn as an op (an escape hatch for anything else).
func Do(desc string, fn func(*Ctx) error) Op {
	return Op{desc, func(r *run) error { return fn(r.ctx) }}
}

// HoldSpec says how long a step lasts after its setup and ops.
type HoldSpec struct {
	frac    float64
	fixed   time.Duration
	until   func(*Ctx) bool
	timeout time.Duration
}

// Frac holds for a fraction of the test's duration (Ctx.Duration).
func Frac(f float64) HoldSpec { return HoldSpec{frac: f} }

// For holds for a fixed time.
func For(d time.Duration) HoldSpec { return HoldSpec{fixed: d} }

// Until holds until cond is true (polled every 20 ms) or timeout passes;
// a timeout is an error.
func Until(cond func(*Ctx) bool, timeout time.Duration) HoldSpec {
	return HoldSpec{until: cond, timeout: timeout}
}

// String describes the hold.
func (h HoldSpec) String() string {
	switch {
	case h.until != nil:
		return fmt.Sprintf("until(cond, %s)", h.timeout)
	case h.fixed > 0:
		return h.fixed.String()
	case h.frac > 0:
		return fmt.Sprintf("%g×duration", h.frac)
	}
	return "0s"
}

// Step is one phase of a scenario: create Defs (placed, then started
// together), apply Ops in order, then hold.
type Step struct {
	Name string
	Defs []CgroupDef
	Ops  []Op
	Hold HoldSpec
}

// ReportCheck is an extra, scenario-specific check over every cgroup's
// reports (keyed by cgroup name).
type ReportCheck func(ctx *Ctx, reports map[string][]WorkerReport) []Detail

// Scenario is a complete multi-step test: a backdrop of cgroups that live
// through every step, the steps, and extra checks.
type Scenario struct {
	Name        string
	Description string
	// MinCPUs skips the scenario (verdict Skip) on smaller guests.
	MinCPUs  int
	Backdrop []CgroupDef
	Steps    []Step
	Checks   []ReportCheck
}

// ShareRatio checks that cgroup a got between lo and hi times the CPU
// time of cgroup b (e.g. for cpu.weight 400 vs 100, about 4).
func ShareRatio(a, b string, lo, hi float64) ReportCheck {
	return func(_ *Ctx, reps map[string][]WorkerReport) []Detail {
		sum := func(rs []WorkerReport) time.Duration {
			var t time.Duration
			for _, r := range rs {
				t += r.CPUTime
			}
			return t
		}
		ta, tb := sum(reps[a]), sum(reps[b])
		d := Detail{Check: "share_ratio", Cgroup: a + "/" + b, Worker: -1}
		if tb <= 0 {
			d.Verdict, d.Message = verdict.Inconclusive, fmt.Sprintf("cgroup %s got no CPU time", b)
			return []Detail{d}
		}
		ratio := float64(ta) / float64(tb)
		d.Verdict, d.Message = verdict.Pass, fmt.Sprintf("CPU time %s/%s = %.2f", a, b, ratio)
		if ratio < lo || ratio > hi {
			d.Verdict = verdict.Fail
			d.Message = fmt.Sprintf("CPU time ratio %s/%s = %.2f (%s vs %s), want %.2f..%.2f", a, b, ratio, ms(ta), ms(tb), lo, hi)
		}
		return []Detail{d}
	}
}
