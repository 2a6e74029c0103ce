package scheds

import "strings"

// KernelBuiltin is a scheduler the kernel already has, switched on and
// off by shell commands run in the guest (/bin/sh, busybox) instead of a
// binary: EEVDF with other scheduler features, sysctl or debugfs knobs,
// or a sched_ext scheduler built into the kernel. The runner runs Enable
// before the test body and Disable after it (and on scenario
// attach/detach ops); a failing command fails the run, naming it. Such a
// scheduler cannot be exported to a .run file.
//
//	var NoWakeupPreempt = &scheds.Scheduler{
//		Name: "eevdf_no_wakeup_preempt",
//		Source: scheds.KernelBuiltin{
//			Enable:  []string{"echo NO_WAKEUP_PREEMPTION > /sys/kernel/debug/sched/features"},
//			Disable: []string{"echo WAKEUP_PREEMPTION > /sys/kernel/debug/sched/features"},
//		},
//	}
type KernelBuiltin struct {
	Enable  []string
	Disable []string
}

// Files implements Source: nothing to pack (the runner adds busybox for
// the shell).
func (KernelBuiltin) Files() (map[string]string, error) { return map[string]string{}, nil }

// Argv implements Source: no binary to run.
func (KernelBuiltin) Argv() []string { return nil }

func (k KernelBuiltin) String() string {
	return "kernel-builtin (" + strings.Join(k.Enable, "; ") + ")"
}

// IsKernelBuiltin reports whether s is switched on by commands.
func (s *Scheduler) IsKernelBuiltin() bool {
	if s == nil {
		return false
	}
	_, ok := s.Source.(KernelBuiltin)
	return ok
}
