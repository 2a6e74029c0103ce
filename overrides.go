package ktstr

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/bpfmap"
	"github.com/ktstr-go/ktstr/kernel"
	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/scheds"
	"github.com/ktstr-go/ktstr/topology"
)

// Every run setting is settled by one precedence, highest first:
//
//  1. the caller of this run: a ktstr command flag or a RunOptions field;
//  2. the environment: KTSTR_TOPOLOGY, KTSTR_DURATION, KTSTR_FLAGS,
//     KTSTR_KERNEL, KTSTR_SCHEDULER, KTSTR_SCHED_ARGS (set by launchers
//     such as the Bazel ktstr_test rule, which turns one test into a
//     topology × flags variant, or by a developer pointing go test at
//     the scheduler they are writing);
//  3. the test's Opts;
//  4. the scheduler's default (Scheduler.Topology, .Watchdog, .Monitor);
//  5. ktstr's default (DefaultTopology, DefaultDuration, DefaultMemoryMB,
//     monitor.DefaultThresholds; the kernel cache for the kernel).
//
// A bad value at any level is an error, never skipped: a variant that ran
// the wrong shape would pass for the wrong reason. Scheduler arguments and
// BPF map writes add up instead (the test's, then the environment's, then
// the caller's), and the test's and the scheduler's topology constraints
// must both hold for the settled topology.

// Environment a launcher sets to turn one test into a variant without
// recompiling it.
const (
	EnvTopology   = "KTSTR_TOPOLOGY"    // e.g. 1n2l2c1t or 1,2,2,1
	EnvFlags      = "KTSTR_FLAGS"       // scheduler flags, comma-separated; set and empty means none
	EnvDuration   = "KTSTR_DURATION"    // e.g. 5s
	EnvSchedFiles = "KTSTR_SCHED_FILES" // prebuilt scheduler files, space-separated
	EnvKernel     = kernel.EnvKernel    // any kernel.ID form
	EnvScheduler  = scheds.EnvScheduler // a scheduler file replacing the test's
	EnvSchedArgs  = "KTSTR_SCHED_ARGS"  // scheduler arguments, space-separated, appended
	// EnvBackend names the VMM: auto, kvm, qemu or qemu-tcg. The Bazel
	// launcher sets it to "kvm" for tests that need hardware KVM, so such
	// a test fails on an emulating executor instead of passing there
	// under QEMU.
	EnvBackend = "KTSTR_BACKEND"
)

// settings are one run's values once every override has been applied.
type settings struct {
	topology topology.Topology
	duration time.Duration
	flags    []string
	watchdog time.Duration
	// kernel is a kernel.ID spec, "" to let kernel.Resolve search.
	kernel string
	// backend is the VMM's name, "" for auto.
	backend    string
	memoryMB   int
	thresholds *monitor.Thresholds
	// schedFiles are prebuilt scheduler files (KTSTR_SCHED_FILES) packed
	// instead of building Scheduler.Files().
	schedFiles []string
	// sched is the scheduler as this run launches it (the test's, or a
	// launcher's replacement; nil for EEVDF); schedFrom says which.
	sched     *scheds.Invocation
	schedFrom string
	// mapWrites are made at each attach.
	mapWrites []bpfmap.Write
	// constraints are the test's and the scheduler's.
	constraints topology.Constraints
	// expectFail is Opts.ExpectFail compiled (nil: none).
	expectFail *regexp.Regexp
}

// settle applies the precedence to one run of a test declared by opts.
// env looks a variable up (os.LookupEnv outside tests).
func settle(opts *Opts, ro *RunOptions, env func(string) (string, bool)) (settings, error) {
	s := settings{
		topology:   opts.EffectiveTopology(),
		duration:   opts.EffectiveDuration(),
		flags:      opts.Flags,
		watchdog:   opts.EffectiveWatchdog(),
		kernel:     opts.Kernel,
		memoryMB:   opts.MemoryMB,
		thresholds: monitorThresholds(opts),
	}
	if s.memoryMB == 0 {
		s.memoryMB = DefaultMemoryMB
	}
	if err := s.fromEnv(env); err != nil {
		return settings{}, err
	}
	s.fromCaller(ro)
	if err := s.settleScheduler(opts, ro, env); err != nil {
		return settings{}, err
	}
	var err error
	if s.expectFail, err = compileExpectFail(opts.ExpectFail); err != nil {
		return settings{}, err
	}
	if err := s.topology.Validate(); err != nil {
		return settings{}, err
	}
	if s.duration <= 0 {
		return settings{}, fmt.Errorf("duration %v: must be positive", s.duration)
	}
	if s.memoryMB < 0 {
		return settings{}, fmt.Errorf("memory %d MiB: must be positive", s.memoryMB)
	}
	return s, nil
}

// fromEnv applies level 2.
func (s *settings) fromEnv(env func(string) (string, bool)) error {
	get := func(k string) string {
		v, _ := env(k)
		return strings.TrimSpace(v)
	}
	if v := get(EnvTopology); v != "" {
		t, err := topology.Parse(v)
		if err != nil {
			return fmt.Errorf("%s: %w", EnvTopology, err)
		}
		s.topology = t
	}
	if v := get(EnvDuration); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("%s=%q: want a positive duration such as 5s", EnvDuration, v)
		}
		s.duration = d
	}
	if v, ok := env(EnvFlags); ok {
		s.flags = splitFlags(v)
	}
	if v := get(EnvKernel); v != "" {
		s.kernel = v
	}
	if v := get(EnvBackend); v != "" {
		s.backend = v
	}
	if v := get(EnvSchedFiles); v != "" {
		s.schedFiles = strings.Fields(v)
	}
	return nil
}

// fromCaller applies level 1.
func (s *settings) fromCaller(ro *RunOptions) {
	if ro.Topology != (topology.Topology{}) {
		s.topology = ro.Topology
	}
	if ro.Duration > 0 {
		s.duration = ro.Duration
	}
	if ro.Flags != nil {
		s.flags = ro.Flags
	}
	if ro.Watchdog > 0 {
		s.watchdog = ro.Watchdog
	}
	if k := strings.TrimSpace(ro.Kernel); k != "" {
		s.kernel = k
	}
	if b := strings.TrimSpace(ro.Backend); b != "" {
		s.backend = b
	}
}

// splitFlags reads a comma-separated flag list; empty means none.
func splitFlags(v string) []string {
	flags := []string{}
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			flags = append(flags, f)
		}
	}
	return flags
}
