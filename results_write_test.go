package ktstr

import (
	"bytes"
	"flag"
	"path/filepath"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/kernel"
	"github.com/ktstr-go/ktstr/results"
	"github.com/ktstr-go/ktstr/scheds"
	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/verdict"
	"github.com/ktstr-go/ktstr/vmm"
)

// The sink keeps the whole console and each record's arrival while
// passing both on to the caller's own callbacks.
func TestResultsSinkHooks(t *testing.T) {
	var console bytes.Buffer
	var seen []string
	machines := 0
	ro := RunOptions{Console: &console, OnRecord: func(r guest.Record) { seen = append(seen, r.Kind) }, OnMachine: func(vmm.Machine) { machines++ }}
	s := newResultsSink(bootSpec{name: "t", params: guest.BootParams{Mode: guest.ModeTest}}, &ro)
	ro.OnMachine(nil)
	if _, err := ro.Console.Write([]byte("boot\n")); err != nil {
		t.Fatal(err)
	}
	ro.OnRecord(guest.Record{Kind: guest.KindStart})
	ro.OnRecord(guest.Record{Kind: guest.KindFinal})
	if console.String() != "boot\n" || len(seen) != 2 || machines != 1 {
		t.Errorf("caller's callbacks: console %q, records %v, machines %d", console.String(), seen, machines)
	}
	res := &Result{Verdict: verdict.Pass, Backend: "qemu-tcg",
		Records: []guest.Record{{Kind: guest.KindStart, Elapsed: time.Millisecond}, {Kind: guest.KindFinal, Elapsed: time.Second}}}
	p := &vmPlan{
		spec:   bootSpec{name: "t", opts: Opts{Scheduler: scheds.FIFO}},
		set:    settings{topology: topology.Must("1n1l2c1t"), duration: 3 * time.Second},
		kernel: &kernel.Kernel{Key: "k1", Image: "/bz", Meta: &kernel.Metadata{Version: "6.12.118"}},
	}
	run := s.run(p, res)
	if string(run.Console) != "boot\n" || run.Kernel != (results.Kernel{Key: "k1", Version: "6.12.118", Image: "/bz"}) ||
		run.Scheduler != "ktstr_fifo" || len(run.SchedulerArgv) == 0 || run.Duration != 3*time.Second {
		t.Errorf("run = %+v", run)
	}
	if len(run.Records) != 2 || run.Records[0].Host <= 0 || run.Records[1].Host < run.Records[0].Host {
		t.Errorf("records %+v: want receive times since the VM started, in order", run.Records)
	}
}

// Shell runs and RunOptions.Out = NoResults get no sink, and a nil
// sink writes nothing.
func TestResultsSinkOff(t *testing.T) {
	for _, tc := range []struct {
		mode guest.Mode
		out  string
	}{{guest.ModeShell, ""}, {guest.ModeExec, ""}, {guest.ModeTest, NoResults}, {guest.ModeGoTest, NoResults}} {
		ro := RunOptions{Out: tc.out}
		if s := newResultsSink(bootSpec{params: guest.BootParams{Mode: tc.mode}}, &ro); s != nil || ro.Console != nil || ro.OnRecord != nil {
			t.Errorf("mode %s, out %q: a sink", tc.mode, tc.out)
		}
	}
	var s *resultsSink
	if dir := s.write(nil, nil, nil); dir != "" {
		t.Errorf("nil sink wrote %s", dir)
	}
}

func TestResultsSinkConsoleCap(t *testing.T) {
	ro := RunOptions{}
	s := newResultsSink(bootSpec{params: guest.BootParams{Mode: guest.ModeTest}}, &ro)
	chunk := bytes.Repeat([]byte("x"), 1<<20)
	for range maxConsoleCapture>>20 + 2 {
		if n, err := ro.Console.Write(chunk); n != len(chunk) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if s.console.Len() != maxConsoleCapture || s.dropped != 2<<20 {
		t.Errorf("kept %d bytes, dropped %d; want %d kept, %d dropped", s.console.Len(), s.dropped, maxConsoleCapture, 2<<20)
	}
}

// Where the directory goes: RunOptions.Out, else a new directory under
// Bazel's outputs, else under go test's -test.outputdir, else under the
// runs root in the user cache; a second run with the same name gets its
// own directory instead of replacing the first.
func TestResultsDir(t *testing.T) {
	base := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", filepath.Join(base, "cache"))
	t.Setenv("TEST_UNDECLARED_OUTPUTS_DIR", "")
	outdir := flag.Lookup("test.outputdir")
	defer func(v string) { _ = outdir.Value.Set(v) }(outdir.Value.String())
	_ = outdir.Value.Set("")
	mine, bazel, od := filepath.Join(base, "mine"), filepath.Join(base, "bazel"), filepath.Join(base, "od")
	tests := []struct {
		out, bazel, outputdir, want string
		claimed                     bool
	}{
		{mine, bazel, od, mine, false},
		{"", bazel, od, filepath.Join(bazel, "ktstr", "ID"), true},
		{"", "", od, filepath.Join(od, "ktstr", "ID"), true},
		{"", "", "", filepath.Join(base, "cache", "ktstr", "runs", "ID"), true},
	}
	for _, tc := range tests {
		t.Setenv("TEST_UNDECLARED_OUTPUTS_DIR", tc.bazel)
		_ = outdir.Value.Set(tc.outputdir)
		s := &resultsSink{out: tc.out}
		got, claimed, err := s.dir("ID")
		if err != nil || got != tc.want || claimed != tc.claimed {
			t.Errorf("out %q, bazel %q, outputdir %q: %s, claimed %v, %v; want %s, claimed %v", tc.out, tc.bazel, tc.outputdir, got, claimed, err, tc.want, tc.claimed)
			continue
		}
		if !claimed {
			continue
		}
		again, _, err := s.dir("ID")
		if want := tc.want + "-2"; err != nil || again != want {
			t.Errorf("second run named ID: %s, %v; want %s", again, err, want)
		}
	}
}
