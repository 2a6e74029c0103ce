package scenario

import "time"

// Canned scenarios for common patterns. Each is a value: adjust its steps,
// defs or checks before running it with ExecuteScenario.

// ProportionalShare runs two saturating cgroups with cpu.weight 400 and
// 100 on every CPU and checks the heavier one got 1.5–8× the CPU time of
// the lighter (4× ideally; under TCG emulation EEVDF measured 1.8–2.5×
// over 1.5 s, so the band only insists that weight clearly matters).
func ProportionalShare() Scenario {
	return Scenario{
		Name:        "proportional_share",
		Description: "cpu.weight 400 vs 100 on shared CPUs splits CPU time about 4:1",
		Steps: []Step{{
			Defs: []CgroupDef{
				Cgroup("heavy").Workers(2).Weight(400),
				Cgroup("light").Workers(2).Weight(100),
			},
			Hold: Frac(1),
		}},
		Checks: []ReportCheck{ShareRatio("heavy", "light", 1.5, 8)},
	}
}

// CpusetIsolation splits the CPUs in two disjoint cpusets with two
// workers each; the isolation check proves nobody crossed over.
func CpusetIsolation() Scenario {
	return Scenario{
		Name:        "cpuset_isolation",
		Description: "workers of disjoint cpusets run only on their own CPUs",
		MinCPUs:     2,
		Steps: []Step{{
			Defs: []CgroupDef{
				Cgroup("left").Workers(2).Cpuset(Disjoint(0, 2)),
				Cgroup("right").Workers(2).Cpuset(Disjoint(1, 2)).Work(MixedWork),
			},
			Hold: Frac(1),
		}},
	}
}

// DynamicAddRemove keeps a backdrop cgroup busy while others come and go.
func DynamicAddRemove() Scenario {
	return Scenario{
		Name:        "dynamic_add_remove",
		Description: "cgroups created and removed while a backdrop runs",
		Backdrop:    []CgroupDef{Cgroup("base").Workers(1).Work(MixedWork)},
		Steps: []Step{
			{Name: "add a", Defs: []CgroupDef{Cgroup("a").Workers(2)}, Hold: Frac(0.3)},
			{Name: "add b, remove a", Defs: []CgroupDef{Cgroup("b").Workers(2).Work(YieldWork)},
				Ops: []Op{RemoveCgroup("a")}, Hold: Frac(0.3)},
			{Name: "remove b", Ops: []Op{StopCgroup("b"), RemoveCgroup("b")}, Hold: Frac(0.3)},
		},
	}
}

// Nested runs two leaves under one parent against a sibling: the parent's
// weight and cpuset bound its children.
func Nested() Scenario {
	return Scenario{
		Name:        "nested",
		Description: "nested cgroups: leaves under a weighted parent with a cpuset",
		Steps: []Step{{
			Defs: []CgroupDef{
				Cgroup("outer").Workers(0).Weight(200).Cpuset(AllCPUs()),
				Cgroup("outer/a").Workers(1),
				Cgroup("outer/b").Workers(1).Work(MixedWork).Cpuset(Range(0, 0.5)),
				Cgroup("sibling").Workers(1),
			},
			Hold: Frac(1),
		}},
	}
}

// Oversubscription runs four CPU hogs per CPU plus latency-sensitive
// timer and ping-pong workers: nobody may starve.
func Oversubscription() Scenario {
	return Scenario{
		Name:        "oversubscription",
		Description: "4 spinners per CPU next to timer and ping-pong workers: no starvation",
		Steps: []Step{{
			Defs: []CgroupDef{
				// Fairness among hogs is not the point here, and 4 per CPU
				// next to two busy cgroups leaves each too little CPU under
				// emulation to judge it.
				Cgroup("hogs").WorkersPerCPU(4).Work(SpinWork).Checks(func(a *Assert) { a.MaxSpread = 0 }),
				Cgroup("latency").Workers(1).Work(TimerWork),
				Cgroup("pingpong").Workers(1).Work(FutexPingPongWork),
			},
			Hold: Frac(1),
		}},
	}
}

// AffinityChurn re-pins workers while they run: self-pinning churners,
// plus ops that change a cgroup's affinity and cpuset mid-run.
func AffinityChurn() Scenario {
	return Scenario{
		Name:        "affinity_churn",
		Description: "affinity and cpuset changes while workers run",
		MinCPUs:     2,
		Steps: []Step{
			{Name: "churn", Defs: []CgroupDef{
				Cgroup("churners").Workers(2).Work(AffinityChurnWork),
				Cgroup("pinned").Workers(2).Cpuset(AllCPUs()).Affinity(Disjoint(0, 2)),
			}, Hold: Frac(0.3)},
			{Name: "re-pin", Ops: []Op{SetAffinity("pinned", Disjoint(1, 2))}, Hold: Frac(0.3)},
			{Name: "shrink cpuset", Ops: []Op{SetCpuset("pinned", Disjoint(0, 2))}, Hold: Frac(0.3)},
		},
	}
}

// CpusetSwapFreeze swaps two cgroups' cpusets and freezes one for a while:
// frozen time is not starvation, and isolation holds across the swap.
func CpusetSwapFreeze() Scenario {
	return Scenario{
		Name:        "cpuset_swap_freeze",
		Description: "swap cpusets, freeze and thaw a cgroup, move tasks between cgroups",
		MinCPUs:     2,
		Steps: []Step{
			{Name: "start", Defs: []CgroupDef{
				Cgroup("x").Workers(1).Cpuset(Disjoint(0, 2)),
				Cgroup("y").Workers(1).Cpuset(Disjoint(1, 2)).Work(BurstyWork),
				Cgroup("z").Workers(1).Cpuset(Disjoint(1, 2)).Work(SleepWork),
			}, Hold: Frac(0.25)},
			{Name: "swap", Ops: []Op{SwapCpusets("x", "y")}, Hold: Frac(0.25)},
			{Name: "freeze x", Ops: []Op{FreezeCgroup("x")}, Hold: For(600 * time.Millisecond)},
			{Name: "thaw x, merge z into y", Ops: []Op{ThawCgroup("x"), MoveAllTasks("z", "y")}, Hold: Frac(0.25)},
		},
	}
}

// Canned lists every canned scenario.
func Canned() []Scenario {
	return []Scenario{ProportionalShare(), CpusetIsolation(), DynamicAddRemove(), Nested(), Oversubscription(), AffinityChurn(), CpusetSwapFreeze()}
}
