package scheds

// Contract between a scheduler definition, the host runner and the guest
// (agreed with the runner in the root package):
//
//   - On the host the runner calls s.Files() and packs every returned file
//     into the initramfs: the map is guest path (always under /sched/) →
//     host path. Files builds what it needs (a loader, a BPF object, a
//     binary from a source tree) and writes inline config content to a
//     content-addressed cache file.
//   - The runner calls s.Argv(flags) for the guest command line (guest
//     paths only) and passes it, with s.Name, to guest.StartScheduler in
//     the guest before the test body.
//   - A nil *Scheduler is EEVDF: no sched_ext scheduler; Files and Argv on
//     nil return nothing.
//   - Flag combinations: s.Validate(flags) rejects unknown, duplicate,
//     conflicting or unmet-requirement flags with an error naming the fix;
//     s.Variants() lists every valid combination for test expansion.

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/internal/cachedir"
	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/topology"
)

// EEVDF is the kernel's default scheduler: no sched_ext scheduler at all.
// Tests pass it (a nil *Scheduler) to run under EEVDF.
var EEVDF *Scheduler

// Scheduler defines a sched_ext scheduler under test: where it comes
// from, how it is invoked, and the flags a test may turn on. A definition
// is data; declare it once as a package-level var and share it.
type Scheduler struct {
	// Name is the sched_ext ops name the scheduler registers (what
	// /sys/kernel/sched_ext/root/ops reads once it is attached). Empty
	// accepts whichever attaches: a scheduler given by path
	// (ktstr run --scheduler, KTSTR_SCHEDULER) has a name the harness
	// cannot know. A KernelBuiltin scheduler is only labelled by it.
	Name string
	// Source says how to obtain the executable: HostBinary, BuiltBinary,
	// BPFObject, or KernelBuiltin for one switched on by commands.
	Source Source
	// Args are always passed, after the source's own arguments.
	Args []string
	// Flags a test may enable by name.
	Flags []Flag
	// Topology is the default VM shape for tests of this scheduler (zero:
	// the runner's default).
	Topology topology.Topology
	// Config is an optional config file handed to the scheduler.
	Config *Config
	// CgroupParent, if set, is the cgroup2 directory (relative to the
	// cgroup root, e.g. "workload.slice") under which the scenario's
	// cgroups are created, for schedulers that only manage one subtree.
	CgroupParent string
	// CgroupParentArgs hand the cgroup parent to the scheduler, "{cgroup}"
	// standing for its path from the cgroup root with a leading '/', e.g.
	// []string{"--cell-parent-cgroup", "{cgroup}"}. They come after the
	// config arguments.
	CgroupParentArgs []string
	// Constraints bound the topologies the scheduler can run on; a run on
	// another shape is skipped, naming the mismatch.
	Constraints topology.Constraints
	// Watchdog is the default sched_ext watchdog timeout for this
	// scheduler (zero: the test's or the kernel's). Only schedulers that
	// honour it can take it (see guest.SchedSpec.Watchdog).
	Watchdog time.Duration
	// AttachTimeout bounds the wait for attach in the guest (zero: the
	// guest default, generous for BPF verification under emulation).
	AttachTimeout time.Duration
	// Monitor replaces monitor.DefaultThresholds for tests of this
	// scheduler that set none of their own: a design that parks runnable
	// tasks on one CPU's runqueue (a central dispatcher) is not a 4x load
	// imbalance.
	Monitor *monitor.Thresholds
}

// Flag is an optional scheduler feature a test can turn on.
type Flag struct {
	// Name is how tests refer to the flag (letters, digits, '_', '-').
	Name string
	// Args are appended to the command line when the flag is on.
	Args []string
	// Requires lists flags that must be on with this one.
	Requires []string
	// Excludes lists flags that cannot be on with this one.
	Excludes []string
}

// Config is a config file for the scheduler: a host file or inline
// content, placed in the guest at /sched/<GuestName>, and the arguments
// that point the scheduler at it.
type Config struct {
	// HostPath is a config file on the host; or
	HostPath string
	// Content is the config inline.
	Content string
	// GuestName is the file name under /sched/ (default "config").
	GuestName string
	// Args is the argument template; "{config}" is replaced by the guest
	// path, e.g. []string{"--config", "{config}"} or {"-c{config}"}.
	Args []string
}

// Source obtains a scheduler's executable. Implementations live here
// (HostBinary, BuiltBinary, BPFObject); other packages may add their own.
type Source interface {
	// Files runs on the host: it builds what is needed and returns the
	// files to pack (guest path under /sched/ → host path).
	Files() (map[string]string, error)
	// Argv returns the command prefix (guest paths). It also runs in the
	// guest, so it must not build or look at host files.
	Argv() []string
	// String describes the source in errors and logs.
	String() string
}

// HostBinary is a scheduler binary already on the host: a path, or a bare
// name looked up in $PATH. The guest runs it as /sched/<base name>.
type HostBinary struct {
	Path string
}

// Files implements Source.
func (h HostBinary) Files() (map[string]string, error) {
	p, err := resolveBinary(h.Path)
	if err != nil {
		return nil, err
	}
	return map[string]string{h.Argv()[0]: p}, nil
}

// Argv implements Source.
func (h HostBinary) Argv() []string { return []string{guest.SchedPath(filepath.Base(h.Path))} }

func (h HostBinary) String() string { return "host binary " + h.Path }

func resolveBinary(p string) (string, error) {
	if p == "" {
		return "", errors.New("no binary path given: set HostBinary.Path")
	}
	if !strings.Contains(p, "/") {
		lp, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("scheduler binary %q not found in $PATH: install it or give its full path", p)
		}
		p = lp
	}
	st, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("scheduler binary %s: %w (build it first or fix the path)", p, err)
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("scheduler binary %s is not an executable file", p)
	}
	return p, nil
}

// BuiltBinary is a scheduler binary produced on demand on the host, e.g.
// from a source tree. Build runs at most once per process (it should
// cache across processes itself).
type BuiltBinary struct {
	// GuestName is the binary's file name under /sched/ (e.g. "scx_simple").
	GuestName string
	// What describes the build in errors ("scx_simple from linux 6.12").
	What string
	// Build returns the host path of the built binary.
	Build func() (string, error)

	once sync.Once
	path string
	err  error
}

// Files implements Source.
func (b *BuiltBinary) Files() (map[string]string, error) {
	if b.Build == nil || b.GuestName == "" {
		return nil, fmt.Errorf("%s: BuiltBinary needs GuestName and Build", b)
	}
	b.once.Do(func() { b.path, b.err = b.Build() })
	if b.err != nil {
		return nil, fmt.Errorf("building: %w", b.err)
	}
	p, err := resolveBinary(b.path)
	if err != nil {
		return nil, fmt.Errorf("building: %w", err)
	}
	return map[string]string{b.Argv()[0]: p}, nil
}

// Argv implements Source.
func (b *BuiltBinary) Argv() []string { return []string{guest.SchedPath(b.GuestName)} }

func (b *BuiltBinary) String() string {
	if b.What != "" {
		return b.What
	}
	return "built binary " + b.GuestName
}

// BPFObject is a sched_ext BPF object file loaded in the guest by a loader
// binary (the in-repo scxload): /sched/<LoaderName> -obj /sched/<ObjectName> Args...
type BPFObject struct {
	// ObjectName is the object's file name under /sched/ ("fifo.bpf.o").
	ObjectName string
	// LoaderName is the loader's file name under /sched/ (default "scxload").
	LoaderName string
	// Object and Loader return host paths, building them if needed.
	Object func() (string, error)
	Loader func() (string, error)
	// Args go to the loader after -obj (e.g. "-set", "victim=cg_1").
	Args []string
}

func (o BPFObject) loaderName() string {
	if o.LoaderName == "" {
		return "scxload"
	}
	return o.LoaderName
}

// Files implements Source.
func (o BPFObject) Files() (map[string]string, error) {
	if o.Object == nil || o.Loader == nil || o.ObjectName == "" {
		return nil, errors.New("BPFObject needs ObjectName, Object and Loader")
	}
	// Errors name neither the object nor the source: Scheduler.Files
	// wraps them with both.
	obj, err := o.Object()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(obj); err != nil {
		return nil, err
	}
	ld, err := o.Loader()
	if err != nil {
		return nil, fmt.Errorf("loader: %w", err)
	}
	ld, err = resolveBinary(ld)
	if err != nil {
		return nil, fmt.Errorf("loader: %w", err)
	}
	return map[string]string{
		guest.SchedPath(o.loaderName()): ld,
		guest.SchedPath(o.ObjectName):   obj,
	}, nil
}

// Argv implements Source.
func (o BPFObject) Argv() []string {
	return append([]string{guest.SchedPath(o.loaderName()), "-obj", guest.SchedPath(o.ObjectName)}, o.Args...)
}

func (o BPFObject) String() string { return "BPF object " + o.ObjectName }

var (
	opsNameRE  = regexp.MustCompile(`^[A-Za-z0-9_.]{1,127}$`)
	flagNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

// Check validates the definition itself: a sched_ext-valid name, a
// source, unique well-formed flags whose Requires/Excludes name known
// flags.
func (s *Scheduler) Check() error {
	if s == nil {
		return nil
	}
	if s.Name != "" && !opsNameRE.MatchString(s.Name) {
		return fmt.Errorf("scheduler name %q: must be the sched_ext ops name (letters, digits, '_', '.', at most 127)", s.Name)
	}
	if s.Source == nil {
		return fmt.Errorf("scheduler %s: no Source (HostBinary, BuiltBinary, BPFObject or KernelBuiltin)", s.label())
	}
	if _, ok := s.Source.(KernelBuiltin); ok && s.Name == "" {
		return errors.New("a KernelBuiltin scheduler needs a Name to be reported by")
	}
	if err := checkCgroupParent(s.CgroupParent); err != nil {
		return fmt.Errorf("scheduler %s: %w", s.label(), err)
	}
	if err := s.Constraints.Validate(); err != nil {
		return fmt.Errorf("scheduler %s: %w", s.label(), err)
	}
	seen := map[string]bool{}
	for _, f := range s.Flags {
		if !flagNameRE.MatchString(f.Name) {
			return fmt.Errorf("scheduler %s: flag name %q: use letters, digits, '_', '-'", s.Name, f.Name)
		}
		if seen[f.Name] {
			return fmt.Errorf("scheduler %s: flag %q declared twice", s.Name, f.Name)
		}
		seen[f.Name] = true
	}
	for _, f := range s.Flags {
		for _, r := range append(append([]string{}, f.Requires...), f.Excludes...) {
			if !seen[r] {
				return fmt.Errorf("scheduler %s: flag %q refers to undeclared flag %q", s.Name, f.Name, r)
			}
			if r == f.Name {
				return fmt.Errorf("scheduler %s: flag %q refers to itself", s.Name, f.Name)
			}
		}
	}
	if c := s.Config; c != nil {
		if err := c.check(); err != nil {
			return fmt.Errorf("scheduler %s: %w", s.label(), err)
		}
	}
	return nil
}

// check validates a config on its own.
func (c *Config) check() error {
	if (c.HostPath == "") == (c.Content == "") {
		return errors.New("Config needs exactly one of HostPath and Content")
	}
	if c.GuestName != "" && (strings.Contains(c.GuestName, "/") || c.GuestName == "." || c.GuestName == "..") {
		return fmt.Errorf("Config.GuestName %q must be a plain file name", c.GuestName)
	}
	return nil
}

func (s *Scheduler) flag(name string) (Flag, bool) {
	for _, f := range s.Flags {
		if f.Name == name {
			return f, true
		}
	}
	return Flag{}, false
}

func (s *Scheduler) flagNames() string {
	if len(s.Flags) == 0 {
		return "it declares none"
	}
	names := make([]string, len(s.Flags))
	for i, f := range s.Flags {
		names[i] = f.Name
	}
	return "declared: " + strings.Join(names, ", ")
}

// Validate checks a flag combination: every flag declared, none twice,
// every requirement on, no exclusion violated.
func (s *Scheduler) Validate(flags []string) error {
	if s == nil {
		if len(flags) > 0 {
			return fmt.Errorf("flags %v given but the scheduler is EEVDF (nil), which has no flags", flags)
		}
		return nil
	}
	on := map[string]bool{}
	for _, n := range flags {
		if _, ok := s.flag(n); !ok {
			return fmt.Errorf("scheduler %s has no flag %q (%s)", s.Name, n, s.flagNames())
		}
		if on[n] {
			return fmt.Errorf("scheduler %s: flag %q given twice", s.Name, n)
		}
		on[n] = true
	}
	for _, n := range flags {
		f, _ := s.flag(n)
		for _, r := range f.Requires {
			if !on[r] {
				return fmt.Errorf("scheduler %s: flag %q requires flag %q: enable both or neither", s.Name, n, r)
			}
		}
		for _, x := range f.Excludes {
			if on[x] {
				return fmt.Errorf("scheduler %s: flags %q and %q cannot be combined", s.Name, n, x)
			}
		}
	}
	return nil
}

// maxVariantFlags caps the power set Variants enumerates.
const maxVariantFlags = 12

// Variants returns every valid flag combination, the empty one first,
// then by size, each in declaration order. A test expands into one run
// per variant.
func (s *Scheduler) Variants() ([][]string, error) {
	if s == nil {
		return [][]string{nil}, nil
	}
	n := len(s.Flags)
	if n > maxVariantFlags {
		return nil, fmt.Errorf("scheduler %s declares %d flags: too many to expand every combination (max %d); list the variants explicitly", s.Name, n, maxVariantFlags)
	}
	var out [][]string
	for mask := 0; mask < 1<<n; mask++ {
		var combo []string
		for i, f := range s.Flags {
			if mask&(1<<i) != 0 {
				combo = append(combo, f.Name)
			}
		}
		if s.Validate(combo) == nil {
			out = append(out, combo)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) < len(out[j]) })
	return out, nil
}

// VariantName names a flag combination for test names: "base" for none,
// else the flags joined by '+'.
func VariantName(flags []string) string {
	if len(flags) == 0 {
		return "base"
	}
	return strings.Join(flags, "+")
}

// Files returns guest path → host path of every file the scheduler needs
// in the guest, building them if needed. Nil (EEVDF) needs none.
func (s *Scheduler) Files() (map[string]string, error) {
	if s == nil {
		return nil, nil
	}
	return Invocation{Sched: s}.Files()
}

// Argv is the guest command line for the given flags (see
// Invocation.Argv for the order). It builds nothing, so the guest can
// call it.
func (s *Scheduler) Argv(flags []string) ([]string, error) {
	if s == nil {
		return nil, s.Validate(flags)
	}
	return Invocation{Sched: s, Flags: flags}.Argv()
}

// label names the scheduler in messages: its ops name, else its source.
func (s *Scheduler) label() string {
	switch {
	case s.Name != "":
		return s.Name
	case s.Source != nil:
		return s.Source.String()
	}
	return "(unnamed)"
}

func (c *Config) guestPath() string {
	name := c.GuestName
	if name == "" {
		name = "config"
	}
	return guest.SchedPath(name)
}

// hostFile returns the config's host path, writing inline content once to
// a content-addressed cache file.
func (c *Config) hostFile() (string, error) {
	if c.HostPath != "" {
		if _, err := os.Stat(c.HostPath); err != nil {
			return "", fmt.Errorf("config file: %w", err)
		}
		return c.HostPath, nil
	}
	sum := sha256.Sum256([]byte(c.Content))
	return writeCached(cachedir.Dir("config"), hex.EncodeToString(sum[:12]), []byte(c.Content))
}

// writeCached writes data once to dir/name (temp + rename, so never
// half-written) and returns the path; an existing file is taken as it is,
// so name must identify the content.
func writeCached(dir, name string, data []byte) (string, error) {
	dst := filepath.Join(dir, name)
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("cache %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-")
	if err != nil {
		return "", fmt.Errorf("cache %s: %w", dir, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return "", fmt.Errorf("writing %s: %w", dst, err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("writing %s: %w", dst, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", fmt.Errorf("installing %s: %w", dst, err)
	}
	return dst, nil
}
