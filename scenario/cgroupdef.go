package scenario

import (
	"fmt"
	"slices"
	"time"
)

// CgroupDef declares a cgroup and the workers in it. Build one with Cgroup
// and chain setters; each returns a modified copy, so a def can be a
// template:
//
//	base := scenario.Cgroup("cg").Workers(2).Work(scenario.MixedWork)
//	a, b := base.Named("a"), base.Named("b").Weight(200)
type CgroupDef struct {
	name     string
	workers  int
	perCPU   int
	work     Work
	mempol   MemPolicy
	cpuset   CpusetSpec
	mems     []int
	memsSet  bool
	weight   int
	quota    time.Duration
	period   time.Duration
	nice     int
	policy   Policy
	affinity CpusetSpec
	checks   []func(*Assert)
}

// Cgroup starts a def for cgroup name (a path below the test's cgroup
// root, e.g. "cg_0" or "outer/a") with one SpinWork worker.
func Cgroup(name string) CgroupDef {
	return CgroupDef{name: name, workers: 1, work: Work{Type: SpinWork}}
}

// Name is the cgroup's name.
func (d CgroupDef) Name() string { return d.name }

// Named returns a copy with another name.
func (d CgroupDef) Named(name string) CgroupDef { d.name = name; return d }

// Workers sets the number of worker processes (0: an empty cgroup, e.g.
// the parent of nested ones).
func (d CgroupDef) Workers(n int) CgroupDef { d.workers, d.perCPU = n, 0; return d }

// WorkersPerCPU sets the worker count to n per CPU of the cgroup's
// cpuset (all CPUs without one), resolved on the guest's topology.
func (d CgroupDef) WorkersPerCPU(n int) CgroupDef { d.perCPU = n; return d }

// Work sets what the workers do: a WorkType with its defaults, or a Work
// with parameters (e.g. scenario.FutexFanOut(8)).
func (d CgroupDef) Work(w WorkSpec) CgroupDef { d.work = specOf(w); return d }

// MemPolicy places the memory the workers' work maps on NUMA nodes
// (mbind), e.g. scenario.BindMemory(1); the numa_placement check then
// says where the pages landed.
func (d CgroupDef) MemPolicy(p MemPolicy) CgroupDef { d.mempol = p; return d }

// Cpuset restricts the cgroup to the CPUs of spec (cpuset.cpus).
func (d CgroupDef) Cpuset(spec CpusetSpec) CgroupDef { d.cpuset = spec; return d }

// Mems restricts the cgroup's memory to NUMA node ids (cpuset.mems).
func (d CgroupDef) Mems(nodes ...int) CgroupDef {
	d.mems, d.memsSet = append([]int(nil), nodes...), true
	return d
}

// Weight sets cpu.weight (1..10000; the kernel default is 100).
func (d CgroupDef) Weight(w int) CgroupDef { d.weight = w; return d }

// Max sets cpu.max: quota of CPU time per period (bandwidth limit).
func (d CgroupDef) Max(quota, period time.Duration) CgroupDef {
	d.quota, d.period = quota, period
	return d
}

// Nice sets the workers' nice value (-20..19).
func (d CgroupDef) Nice(n int) CgroupDef { d.nice = n; return d }

// Policy sets the workers' scheduling policy.
func (d CgroupDef) Policy(p Policy) CgroupDef { d.policy = p; return d }

// Affinity pins the workers' threads to the CPUs of spec after they are
// placed (sched_setaffinity; must overlap the cgroup's cpuset).
func (d CgroupDef) Affinity(spec CpusetSpec) CgroupDef { d.affinity = spec; return d }

// Checks adjusts the assertion bounds for this cgroup's workers only.
func (d CgroupDef) Checks(f func(*Assert)) CgroupDef {
	d.checks = append(slices.Clone(d.checks), f)
	return d
}

// validate reports a def that cannot be applied.
func (d CgroupDef) validate() error {
	if err := validName(d.name); err != nil {
		return err
	}
	if d.workers < 0 {
		return fmt.Errorf("cgroup %s: negative worker count %d", d.name, d.workers)
	}
	if err := d.work.Validate(); err != nil {
		return fmt.Errorf("cgroup %s: %w", d.name, err)
	}
	if err := checkMemPolicy(d.work, d.mempol); err != nil {
		return fmt.Errorf("cgroup %s: %w", d.name, err)
	}
	if err := d.policy.Validate(); err != nil {
		return fmt.Errorf("cgroup %s: %w", d.name, err)
	}
	if d.nice < -20 || d.nice > 19 {
		return fmt.Errorf("cgroup %s: nice %d out of range -20..19", d.name, d.nice)
	}
	if d.weight != 0 && (d.weight < 1 || d.weight > 10000) {
		return fmt.Errorf("cgroup %s: weight %d out of range 1..10000", d.name, d.weight)
	}
	return nil
}

// String describes the def for logs.
func (d CgroupDef) String() string {
	s := fmt.Sprintf("%s: %d×%s", d.name, d.workers, d.work)
	if !d.cpuset.IsZero() {
		s += " cpuset=" + d.cpuset.String()
	}
	if d.weight != 0 {
		s += fmt.Sprintf(" weight=%d", d.weight)
	}
	if d.policy.Class != "" && d.policy.Class != SchedNormal {
		s += " policy=" + d.policy.String()
	}
	if d.nice != 0 {
		s += fmt.Sprintf(" nice=%d", d.nice)
	}
	if !d.mempol.IsZero() {
		s += " mempolicy=" + d.mempol.String()
	}
	return s
}
