package ktstr

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/guest/watchdog"
	"github.com/ktstr-go/ktstr/probe"
	"github.com/ktstr-go/ktstr/scheds"
	"github.com/ktstr-go/ktstr/verdict"
)

// skipped is a run decided before boot not to happen (the settled
// topology does not fit the constraints); boot reports it as a Skip
// result, not an error.
type skipped struct{ why string }

func (s *skipped) Error() string { return s.why }

// checkConstraints skips a run whose settled topology falls outside the
// test's or the scheduler's constraints.
func (s *settings) checkConstraints() error {
	if err := s.constraints.Check(s.topology); err != nil {
		return &skipped{why: err.Error() + " (" + s.constraints.String() + ")"}
	}
	return nil
}

// skipResult is the Result of a run skipped before boot.
func skipResult(name string, set settings, sk *skipped) *Result {
	return &Result{Test: name, Verdict: verdict.Skip, Reasons: []string{sk.why}, Topology: set.topology}
}

// cgroupDir is the test's cgroup2 directory: under the cgroup parent in
// effect, else guest.DefaultCgroup.
func (s *settings) cgroupDir(opts *Opts) string {
	parent := opts.CgroupParent
	if s.sched != nil {
		parent = s.sched.EffectiveCgroupParent()
	}
	if parent == "" {
		return guest.DefaultCgroup
	}
	return path.Join(cgroupMount, parent)
}

// checkKernelArgs refuses kernel arguments that would break the boot's
// own parameters or cannot travel on the command line.
func checkKernelArgs(args []string) error {
	for _, a := range args {
		switch {
		case a == "" || strings.ContainsAny(a, " \t\n\""):
			return fmt.Errorf("kernel argument %q: one word per argument, without spaces or quotes", a)
		case strings.HasPrefix(a, "ktstr."):
			return fmt.Errorf("kernel argument %q: ktstr.* parameters are the harness's own", a)
		}
	}
	return nil
}

// schedulerFiles are the scheduler's host files for the initramfs: the
// prebuilt ones a launcher gives (KTSTR_SCHED_FILES, packed under /sched/
// by base name, plus the test's config file), or the invocation's own
// (built if needed). A scheduler replaced by path never takes prebuilt
// files: they are the test's scheduler's.
func (s *settings) schedulerFiles() (map[string]string, error) {
	if s.sched == nil {
		return nil, nil
	}
	if len(s.schedFiles) == 0 || s.schedFrom != "test" {
		return s.sched.Files()
	}
	files := map[string]string{}
	for _, hp := range s.schedFiles {
		files[guest.SchedPath(filepath.Base(hp))] = hp
	}
	// The config is the test's, not a prebuilt file: add it alone.
	gp, hp, err := s.sched.ConfigFile()
	if err != nil {
		return nil, err
	}
	if gp != "" {
		files[gp] = hp
	}
	return files, nil
}

// checkMapWrites refuses, before boot, map writes the scheduler's BPF
// objects do not declare. A scheduler whose objects cannot be found is
// checked in the guest at attach.
func (s *settings) checkMapWrites(files map[string]string) error {
	err := scheds.CheckMapWrites(files, s.mapWrites)
	if errors.Is(err, scheds.ErrNoObjects) {
		return nil
	}
	return err
}

// guestPlan is the Plan the guest runs the test by, as JSON for the
// initramfs. vmlinux, if known, gives the sched_ext ops layout the
// watchdog needs, so the guest does not parse its own BTF (a second or
// more under emulation).
func (s *settings) guestPlan(opts *Opts, vmlinux string, log *zap.Logger) ([]byte, error) {
	p := guest.Plan{Cgroup: s.cgroupDir(opts), Sysctls: opts.Sysctls, MapWrites: s.mapWrites}
	if s.sched != nil && !s.sched.Sched.IsKernelBuiltin() && vmlinux != "" {
		if l, err := watchdog.VmlinuxLayout(vmlinux); err == nil {
			p.OpsLayout = &l
		} else {
			log.Info("the guest reads the sched_ext ops layout itself", zap.Error(err))
		}
	}
	for _, sc := range opts.Sysctls {
		if err := sc.Check(); err != nil {
			return nil, err
		}
	}
	for _, sp := range opts.Probes {
		if err := sp.Validate(); err != nil {
			return nil, err
		}
	}
	p.Probes = probe.Format(opts.Probes)
	if len(opts.Probes) > 0 && vmlinux != "" {
		var err error
		if p.ProbeTable, err = probeTable(vmlinux, opts.Probes); err != nil {
			log.Info("the guest reads its own BTF for the probes", zap.Error(err))
		}
	}
	if iv := s.sched; iv != nil {
		sp := &guest.SchedPlan{Name: iv.Sched.Name, AttachTimeout: iv.Sched.AttachTimeout}
		if kb, ok := iv.Sched.Source.(scheds.KernelBuiltin); ok {
			sp.Enable, sp.Disable = kb.Enable, kb.Disable
		} else {
			argv, err := iv.Argv()
			if err != nil {
				return nil, err
			}
			sp.Argv = argv
		}
		p.Scheduler = sp
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encoding the run plan: %w", err)
	}
	return b, nil
}

// probeTable is the kernel's types for specs, read from the kernel's
// vmlinux here, so the guest need not parse its own BTF (a probe.Table).
func probeTable(vmlinux string, specs []probe.Spec) (json.RawMessage, error) {
	t, err := probe.VmlinuxTable(vmlinux, specs)
	if err != nil {
		return nil, err
	}
	return json.Marshal(t)
}
