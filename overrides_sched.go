package ktstr

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ktstr-go/ktstr/bpfmap"
	"github.com/ktstr-go/ktstr/guest/watchdog"
	"github.com/ktstr-go/ktstr/scheds"
)

// settleScheduler applies the precedence to the scheduler under test:
// which one (the caller's --scheduler, then KTSTR_SCHEDULER, then the
// test's), its extra arguments (the test's, then KTSTR_SCHED_ARGS, then
// the caller's, appended in that order), the test's config and cgroup
// parent, the settled flags, the BPF map writes and the constraints.
func (s *settings) settleScheduler(opts *Opts, ro *RunOptions, env func(string) (string, bool)) error {
	sched, from, err := scheds.ResolveOverride(opts.Scheduler, ro.Scheduler, env)
	if err != nil {
		return err
	}
	s.schedFrom = from
	s.mapWrites = append(append([]bpfmap.Write{}, opts.MapWrites...), ro.MapWrites...)
	s.constraints = opts.Constraints
	envArgs, _ := env(EnvSchedArgs)
	args := append(append(append([]string{}, opts.SchedArgs...), strings.Fields(envArgs)...), ro.SchedArgs...)
	if sched == nil {
		return eevdfOnly(s, opts, args)
	}
	if s.watchdog > 0 {
		if err := watchdog.CheckTimeout(s.watchdog); err != nil {
			return err
		}
	}
	s.constraints = s.constraints.Merge(sched.Constraints)
	if err := s.constraints.Validate(); err != nil {
		return err
	}
	iv := scheds.Invocation{Sched: sched, Flags: s.flags, ExtraArgs: args, Config: opts.SchedConfig, CgroupParent: opts.CgroupParent}
	if err := iv.Check(); err != nil {
		return err
	}
	if sched.IsKernelBuiltin() && len(s.mapWrites) > 0 {
		return fmt.Errorf("scheduler %s is kernel-builtin: it has no BPF maps to write", sched.Name)
	}
	for _, w := range s.mapWrites {
		if err := w.Check(); err != nil {
			return err
		}
	}
	s.sched = &iv
	return nil
}

// eevdfOnly refuses what needs a sched_ext scheduler in a test that runs
// under EEVDF.
func eevdfOnly(s *settings, opts *Opts, args []string) error {
	var need []string
	if len(s.flags) > 0 {
		need = append(need, fmt.Sprintf("flags %v", s.flags))
	}
	if len(args) > 0 {
		need = append(need, "scheduler arguments")
	}
	if opts.SchedConfig != nil {
		need = append(need, "a scheduler config")
	}
	if len(s.mapWrites) > 0 {
		need = append(need, "BPF map writes")
	}
	if len(need) == 0 {
		return s.constraints.Validate()
	}
	return errors.New(strings.Join(need, ", ") + " given, but the test runs under EEVDF: set Opts.Scheduler, or name one with --scheduler or " + EnvScheduler)
}
