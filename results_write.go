package ktstr

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/internal/cachedir"
	"github.com/ktstr-go/ktstr/results"
	"github.com/ktstr-go/ktstr/vmm"
)

// NoResults as RunOptions.Out writes no results directory.
const NoResults = "-"

// maxConsoleCapture bounds the console kept for console.log: a guest
// that floods its console must not exhaust the host's memory.
const maxConsoleCapture = 64 << 20

// RunsRoot is where runs keep their results directories when nothing
// else says where: <user cache>/ktstr/runs, which `ktstr stats list` reads.
func RunsRoot() string { return cachedir.Dir("runs") }

// resultsSink gathers, while a test's VM runs, what its results
// directory needs beyond the Result: the whole console, when each record
// arrived and when the VM started. A nil sink (a shell run, or
// RunOptions.Out is NoResults) does nothing.
type resultsSink struct {
	out string
	// name names the run's directory when out does not (RunOptions.RunName,
	// else the test's name).
	name    string
	started time.Time

	mu      sync.Mutex
	vmStart time.Time
	console bytes.Buffer
	dropped int64
	arrived []time.Time // one per record, in the order Result.Records has them
}

// newResultsSink hooks a sink into ro's console, record and machine
// callbacks, keeping the caller's own.
func newResultsSink(spec bootSpec, ro *RunOptions) *resultsSink {
	if !spec.judged() || ro.Out == NoResults {
		return nil
	}
	name := ro.RunName
	if name == "" {
		name = spec.name
	}
	s := &resultsSink{out: ro.Out, name: name, started: time.Now()}
	ro.Console = &consoleTee{s: s, next: ro.Console}
	onRecord, onMachine := ro.OnRecord, ro.OnMachine
	ro.OnRecord = func(r guest.Record) {
		s.mu.Lock()
		s.arrived = append(s.arrived, time.Now())
		s.mu.Unlock()
		if onRecord != nil {
			onRecord(r)
		}
	}
	ro.OnMachine = func(m vmm.Machine) {
		s.mu.Lock()
		s.vmStart = time.Now() // the monitor's clock starts now too
		s.mu.Unlock()
		if onMachine != nil {
			onMachine(m)
		}
	}
	return s
}

// consoleTee keeps the console for console.log and passes it on.
type consoleTee struct {
	s    *resultsSink
	next io.Writer
}

func (t *consoleTee) Write(p []byte) (int, error) {
	t.s.mu.Lock()
	keep := min(len(p), max(maxConsoleCapture-t.s.console.Len(), 0))
	t.s.console.Write(p[:keep])
	t.s.dropped += int64(len(p) - keep)
	t.s.mu.Unlock()
	if t.next != nil {
		return t.next.Write(p)
	}
	return len(p), nil
}

// write lays out the run's results directory and returns its path; ""
// when there is none. A failure to write is logged, never a test failure.
func (s *resultsSink) write(p *vmPlan, res *Result, log *zap.Logger) string {
	if s == nil {
		return ""
	}
	run := s.run(p, res)
	extra, err := res.IntrospectionFiles()
	if err != nil {
		log.Warn("the run's snapshots, probes, timeline and repro stay out of its results", zap.Error(err))
	}
	run.Extra = extra
	dir, claimed, err := s.dir(run.ID)
	if err != nil {
		log.Warn("no results directory for this run", zap.Error(err))
		return ""
	}
	if claimed {
		run.ID = filepath.Base(dir)
	}
	if err := results.Write(dir, run); err != nil {
		if claimed {
			_ = os.Remove(dir) // still the empty directory Claim made
		}
		log.Warn("writing the results directory", zap.String("dir", dir), zap.Error(err))
		return ""
	}
	log.Info("results written", zap.String("test", p.spec.name), zap.String("dir", dir))
	return dir
}

// run turns what the host saw into a results.Run.
func (s *resultsSink) run(p *vmPlan, res *Result) *results.Run {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := p.kernel
	r := &results.Run{
		ID: results.NewID(s.name, s.started), Test: p.spec.name, Topology: p.set.topology, Flags: p.set.flags,
		Kernel:  results.Kernel{Key: k.Key, Image: k.Image},
		Backend: res.Backend, Duration: p.set.duration, Verdict: res.Verdict, Reasons: res.Reasons,
		Exit: res.Exit.Reason.String(), ExitDetail: res.Exit.Detail,
		Started: s.started, VMTime: res.Exit.Duration, Total: time.Since(s.started),
		Console: s.console.Bytes(), ConsoleDropped: s.dropped, Monitor: res.Monitor,
		Timeline: res.Timeline, Probes: res.Probes, Explain: res.Explain(),
	}
	if k.Meta != nil {
		r.Kernel.Version = k.Meta.Version
	}
	if sc := p.spec.opts.Scheduler; sc != nil {
		r.Scheduler = sc.Name
		r.SchedulerArgv, _ = sc.Argv(p.set.flags)
	}
	for i, rec := range res.Records {
		rr := results.Record{Record: rec}
		if i < len(s.arrived) && !s.vmStart.IsZero() {
			rr.Host = s.arrived[i].Sub(s.vmStart)
		}
		r.Records = append(r.Records, rr)
	}
	return r
}

// dir is where the run's directory goes: RunOptions.Out (which a rerun
// replaces, as asked); else a new directory named id claimed under
// Bazel's undeclared test outputs, go test's -test.outputdir when one
// was given, or RunsRoot. claimed says dir is such a new directory.
func (s *resultsSink) dir(id string) (dir string, claimed bool, err error) {
	if s.out != "" {
		return s.out, false, nil
	}
	root := RunsRoot()
	if d := os.Getenv("TEST_UNDECLARED_OUTPUTS_DIR"); d != "" {
		root = filepath.Join(d, "ktstr")
	} else if f := flag.Lookup("test.outputdir"); f != nil && f.Value.String() != "" {
		root = filepath.Join(f.Value.String(), "ktstr")
	}
	dir, err = results.Claim(root, id)
	return dir, err == nil, err
}

// testResultsDir is t's artifact directory when go test keeps artifacts
// (go test -artifacts), else "" (the run picks a directory that outlives
// the test: ArtifactDir without -artifacts is removed with the test).
func testResultsDir(t *testing.T) string {
	if f := flag.Lookup("test.artifacts"); f == nil || f.Value.String() != "true" {
		return ""
	}
	return t.ArtifactDir()
}
