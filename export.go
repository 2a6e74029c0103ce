package ktstr

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/bpfmap"
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/scheds"
	"github.com/ktstr-go/ktstr/topology"
)

// ExportManifestVersion is bumped whenever ExportManifest changes shape, so
// an exporter built from another revision than the test binary fails with a
// clear message instead of packaging a half-understood test.
const ExportManifestVersion = 2

// ExportManifest is everything an exporter needs to know about one
// registered test, as the test binary that registered it reports it
// (`<testbin> ktstr manifest NAME`). The exporter runs in another process
// (tools/export, `ktstr export`), so this is a JSON contract between the
// two binaries.
type ExportManifest struct {
	Version int    `json:"version"`
	Test    string `json:"test"`
	// Binary is the absolute path of the test binary that produced this
	// manifest; the exporter packs it as the runnable `ktstr`.
	Binary string `json:"binary"`
	// Topology is the effective shape (defaults applied).
	Topology topology.Topology `json:"topology"`
	Duration time.Duration     `json:"duration"`
	// Watchdog is the sched_ext watchdog timeout; zero keeps the kernel's.
	Watchdog time.Duration `json:"watchdog"`
	// Includes are the test's include specs as declared (host paths or
	// bare program names), resolved by the exporter.
	Includes []string `json:"includes,omitempty"`

	// HostOnly makes a test unexportable (Opts.HostOnly); the exporter
	// words the error.
	HostOnly bool `json:"host_only,omitempty"`

	// What the .run script applies on the host around the test.

	// Sysctls are set (and read back) before the scheduler starts, and
	// restored when the script exits.
	Sysctls []guest.Sysctl `json:"sysctls,omitempty"`
	// KernelArgs cannot be applied to a running host: the script checks
	// that /proc/cmdline has each of them.
	KernelArgs []string `json:"kernel_args,omitempty"`
	// Cgroup is the test's cgroup2 directory relative to the cgroup root
	// when the scheduler's cgroup parent fixes it ("" lets the script pick
	// one per run).
	Cgroup string `json:"cgroup,omitempty"`
	// MapWrites are made by the test binary (`ktstr run`) once the
	// scheduler is attached; listed for the script's banner.
	MapWrites []bpfmap.Write `json:"map_writes,omitempty"`

	// Scheduler is nil for tests that run under EEVDF.
	Scheduler *ExportScheduler `json:"scheduler,omitempty"`
}

// ExportScheduler describes the scheduler a test launches.
type ExportScheduler struct {
	Name string `json:"name"`
	// KernelBuiltin schedulers (a scheds.KernelBuiltin source) are
	// switched on by commands, not by a userspace binary; they cannot be
	// exported.
	KernelBuiltin bool `json:"kernel_builtin,omitempty"`
	// Argv is the command line exactly as the guest runs it (argv[0] is a
	// path under guest.SchedDir); files are named by guest paths.
	Argv []string `json:"argv,omitempty"`
	// Files maps guest paths under guest.SchedDir to host paths.
	Files map[string]string `json:"files,omitempty"`
}

// Exportable reports why a test cannot be exported, or "" if it can. The
// reason is a short tag; the exporter words the full explanation.
func (m *ExportManifest) Exportable() string {
	switch {
	case m.HostOnly:
		return "host-only"
	case m.Scheduler != nil && m.Scheduler.KernelBuiltin:
		return "kernel-builtin scheduler"
	}
	return ""
}

// exportManifest describes a registered test for an exporter. Files and
// argv are gathered only for exportable tests, so an unexportable test
// reports its reject reason rather than an unrelated resolution error.
func exportManifest(t *Test) (*ExportManifest, error) {
	bin, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("locating the test binary via /proc/self/exe: %w", err)
	}
	m := exportFacts(t)
	m.Binary = bin
	s := t.Scheduler
	if s == nil || m.Exportable() != "" {
		return m, nil
	}
	iv := exportInvocation(t)
	files, err := iv.Files()
	if err != nil {
		return nil, err
	}
	argv, err := iv.Argv()
	if err != nil {
		return nil, fmt.Errorf("scheduler %s of test %s: command line: %w", s.Name, t.Name, err)
	}
	for gp, hp := range files {
		if !strings.HasPrefix(path.Clean(gp), guest.SchedDir) {
			return nil, fmt.Errorf("scheduler %s: file %s is outside %s; scheduler files must live under %s", s.Name, gp, guest.SchedDir, guest.SchedDir)
		}
		// The exporter may run in another directory.
		if abs, err := filepath.Abs(hp); err == nil {
			files[gp] = abs
		}
	}
	m.Scheduler.Files = files
	m.Scheduler.Argv = argv
	return m, nil
}

// exportFacts is the part of the manifest that needs no file system
// access: enough to decide whether the test is exportable at all.
func exportFacts(t *Test) *ExportManifest {
	m := &ExportManifest{
		Version:    ExportManifestVersion,
		Test:       t.Name,
		Topology:   t.EffectiveTopology(),
		Duration:   t.EffectiveDuration(),
		Watchdog:   t.EffectiveWatchdog(),
		Includes:   append([]string(nil), t.Includes...),
		HostOnly:   t.HostOnly,
		Sysctls:    t.Sysctls,
		KernelArgs: t.KernelArgs,
		MapWrites:  t.MapWrites,
		Cgroup:     t.CgroupParent,
	}
	if s := t.Scheduler; s != nil {
		m.Cgroup = exportInvocation(t).EffectiveCgroupParent()
		m.Scheduler = &ExportScheduler{Name: s.Name, KernelBuiltin: s.IsKernelBuiltin()}
	}
	return m
}

// exportInvocation is the scheduler as the exported test runs it: with
// the test's arguments, config and cgroup parent (no launcher overrides:
// the .run file reproduces the test as declared).
func exportInvocation(t *Test) scheds.Invocation {
	return scheds.Invocation{Sched: t.Scheduler, Flags: t.Flags, ExtraArgs: t.SchedArgs, Config: t.SchedConfig, CgroupParent: t.CgroupParent}
}
