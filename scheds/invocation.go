package scheds

import (
	"fmt"
	"path"
	"strings"
)

// Invocation is a scheduler as one test runs it: the shared definition
// plus what the test (and the command that runs it) adds. The command
// line is, in order: the source's command, Scheduler.Args, the config
// arguments, the cgroup-parent arguments, each enabled flag's Args (in
// declaration order), then ExtraArgs.
type Invocation struct {
	Sched *Scheduler
	// Flags are the enabled flags.
	Flags []string
	// ExtraArgs are appended last: the test's Opts.SchedArgs, then a
	// launcher's (ktstr run --sched-arg).
	ExtraArgs []string
	// Config, if set, replaces the scheduler's Config for this test; its
	// Args and GuestName default to the scheduler's, so a test can give
	// only the content.
	Config *Config
	// CgroupParent, if set, replaces Scheduler.CgroupParent.
	CgroupParent string
}

// config is the config file in effect.
func (iv Invocation) config() *Config {
	base, c := iv.Sched.Config, iv.Config
	if c == nil {
		return base
	}
	merged := *c
	if base != nil {
		if len(merged.Args) == 0 {
			merged.Args = base.Args
		}
		if merged.GuestName == "" {
			merged.GuestName = base.GuestName
		}
	}
	return &merged
}

// EffectiveCgroupParent is the cgroup parent in effect ("" for none).
func (iv Invocation) EffectiveCgroupParent() string {
	if iv.CgroupParent != "" {
		return iv.CgroupParent
	}
	if iv.Sched == nil {
		return ""
	}
	return iv.Sched.CgroupParent
}

// Check validates the scheduler, the flags and the test's additions.
func (iv Invocation) Check() error {
	s := iv.Sched
	if err := s.Check(); err != nil {
		return err
	}
	if err := s.Validate(iv.Flags); err != nil {
		return err
	}
	if err := checkCgroupParent(iv.CgroupParent); err != nil {
		return fmt.Errorf("scheduler %s: %w", s.label(), err)
	}
	if c := iv.config(); c != nil {
		if err := c.check(); err != nil {
			return fmt.Errorf("scheduler %s: %w", s.label(), err)
		}
		if len(c.Args) == 0 {
			return fmt.Errorf("scheduler %s: the test gives a config but neither it nor the scheduler says how to pass it: set Config.Args (e.g. {\"--config\", \"{config}\"})", s.label())
		}
	}
	if _, builtin := s.Source.(KernelBuiltin); builtin && (len(iv.ExtraArgs) > 0 || iv.config() != nil || len(s.CgroupParentArgs) > 0) {
		return fmt.Errorf("scheduler %s is kernel-builtin: it takes no arguments, config or cgroup-parent arguments", s.label())
	}
	return nil
}

// Files returns guest path → host path of every file the run needs in
// the guest, building them if needed.
func (iv Invocation) Files() (map[string]string, error) {
	s := iv.Sched
	if err := iv.Check(); err != nil {
		return nil, err
	}
	files, err := s.Source.Files()
	if err != nil {
		return nil, fmt.Errorf("scheduler %s (%s): %w", s.label(), s.Source, err)
	}
	if files == nil {
		files = map[string]string{}
	}
	gp, hp, err := iv.ConfigFile()
	if err != nil {
		return nil, err
	}
	if gp != "" {
		if _, dup := files[gp]; dup {
			return nil, fmt.Errorf("scheduler %s: config %s collides with a scheduler file; set Config.GuestName", s.label(), gp)
		}
		files[gp] = hp
	}
	return files, nil
}

// ConfigFile returns the config file in effect as its guest path and
// host path (inline content is written once to a content-addressed
// cache file), or empty paths when there is none.
func (iv Invocation) ConfigFile() (guestPath, hostPath string, err error) {
	c := iv.config()
	if c == nil {
		return "", "", nil
	}
	hp, err := c.hostFile()
	if err != nil {
		return "", "", fmt.Errorf("scheduler %s config: %w", iv.Sched.label(), err)
	}
	return c.guestPath(), hp, nil
}

// Argv is the guest command line. It builds nothing, so the guest can
// call it. A kernel-builtin scheduler has none.
func (iv Invocation) Argv() ([]string, error) {
	s := iv.Sched
	if err := iv.Check(); err != nil {
		return nil, err
	}
	if _, builtin := s.Source.(KernelBuiltin); builtin {
		return nil, nil
	}
	argv := append(s.Source.Argv(), s.Args...)
	if c := iv.config(); c != nil {
		for _, a := range c.Args {
			argv = append(argv, strings.ReplaceAll(a, "{config}", c.guestPath()))
		}
	}
	if p := iv.EffectiveCgroupParent(); p != "" {
		for _, a := range s.CgroupParentArgs {
			argv = append(argv, strings.ReplaceAll(a, "{cgroup}", "/"+p))
		}
	}
	on := map[string]bool{}
	for _, f := range iv.Flags {
		on[f] = true
	}
	for _, f := range s.Flags {
		if on[f.Name] {
			argv = append(argv, f.Args...)
		}
	}
	return append(argv, iv.ExtraArgs...), nil
}

// checkCgroupParent accepts "" or a clean relative cgroup path.
func checkCgroupParent(p string) error {
	if p == "" {
		return nil
	}
	if strings.HasPrefix(p, "/") || path.Clean(p) != p || p == "." || strings.HasPrefix(p, "..") {
		return fmt.Errorf("cgroup parent %q: want a path relative to the cgroup root, such as \"workload.slice\"", p)
	}
	return nil
}
