package ktstr

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/topology"
)

// ExportManifestVersion is bumped whenever ExportManifest changes shape, so
// an exporter built from another revision than the test binary fails with a
// clear message instead of packaging a half-understood test.
const ExportManifestVersion = 1

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

	// Facts that make a test unexportable; the exporter turns them into
	// the actionable errors.
	HostOnly      bool `json:"host_only,omitempty"`
	WritesBPFMaps bool `json:"writes_bpf_maps,omitempty"`

	// Scheduler is nil for tests that run under EEVDF.
	Scheduler *ExportScheduler `json:"scheduler,omitempty"`
}

// ExportScheduler describes the scheduler a test launches.
type ExportScheduler struct {
	Name string `json:"name"`
	// KernelBuiltin schedulers are switched on by commands, not by a
	// userspace binary; they cannot be exported.
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
	case m.WritesBPFMaps:
		return "bpf-map-write"
	case m.Scheduler != nil && m.Scheduler.KernelBuiltin:
		return "kernel-builtin scheduler"
	}
	return ""
}

// kernelBuiltin is implemented by scheduler definitions that are switched
// on by commands instead of a userspace binary.
type kernelBuiltin interface{ KernelBuiltin() bool }

// bpfMapWriter is implemented by test options that write BPF maps from the
// host during the run.
type bpfMapWriter interface{ WritesBPFMaps() bool }

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
	files, err := s.Files()
	if err != nil {
		return nil, fmt.Errorf("scheduler %s of test %s: files: %w", s.Name, t.Name, err)
	}
	argv, err := s.Argv(t.Flags)
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
		Version:  ExportManifestVersion,
		Test:     t.Name,
		Topology: t.EffectiveTopology(),
		Duration: t.Duration,
		Watchdog: t.EffectiveWatchdog(),
		Includes: append([]string(nil), t.Includes...),
		HostOnly: t.HostOnly,
	}
	if m.Duration == 0 {
		m.Duration = DefaultDuration
	}
	if w, ok := any(&t.Opts).(bpfMapWriter); ok {
		m.WritesBPFMaps = w.WritesBPFMaps()
	}
	if s := t.Scheduler; s != nil {
		if m.Watchdog == 0 {
			m.Watchdog = s.Watchdog
		}
		m.Scheduler = &ExportScheduler{Name: s.Name}
		if kb, ok := any(s).(kernelBuiltin); ok {
			m.Scheduler.KernelBuiltin = kb.KernelBuiltin()
		}
	}
	return m
}
