package ktstr

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
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

// closeMatches returns registered names near name, best first: names that
// contain it (or are contained in it), then those within a small edit
// distance.
func closeMatches(name string, names []string) []string {
	type cand struct {
		name string
		dist int
	}
	var cs []cand
	lname := strings.ToLower(name)
	for _, n := range names {
		ln := strings.ToLower(n)
		d := editDistance(lname, ln)
		switch {
		case strings.Contains(ln, lname) || strings.Contains(lname, ln):
			cs = append(cs, cand{n, 0})
		case d <= max(2, len(name)/5):
			cs = append(cs, cand{n, d})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].dist != cs[j].dist {
			return cs[i].dist < cs[j].dist
		}
		return cs[i].name < cs[j].name
	})
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.name)
	}
	if len(out) > 5 {
		out = out[:5]
	}
	return out
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// unknownTestError names the close matches of an unregistered test name.
func unknownTestError(name string) error {
	var names []string
	for _, t := range Registered() {
		names = append(names, t.Name)
	}
	msg := fmt.Sprintf("no registered test named %q", name)
	if cm := closeMatches(name, names); len(cm) > 0 {
		msg += "; did you mean: " + strings.Join(cm, ", ") + "?"
	} else if len(names) > 0 {
		msg += "; list the registered tests with `ktstr export --list`"
	} else {
		msg += "; this binary registers no tests (declare them with ktstr.Register)"
	}
	return fmt.Errorf("%s", msg)
}
