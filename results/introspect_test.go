package results

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/probe"
	tline "github.com/ktstr-go/ktstr/timeline"
	"github.com/ktstr-go/ktstr/verdict"
)

// introspectRun is the synthetic run of a scheduler that died, with two
// snapshots, probe hits of two functions, a failed check, the failure,
// the probes' counts, an explanation and the runner's extra files.
func introspectRun(t *testing.T) *Run {
	r := synthRun(t, fixture{cg1Share: 0.1, died: true})
	r.Verdict = verdict.Fail
	r.Monitor.Snapshots = []monitor.Snapshot{
		{Name: "halfway", Trigger: monitor.TriggerRequest, At: 3 * time.Second, Took: 2 * time.Millisecond},
		{Name: "a task waited half the watchdog", Trigger: monitor.TriggerWatchdog, At: 5900 * time.Millisecond, Took: 3 * time.Millisecond},
	}
	r.Timeline = &tline.Timeline{Failed: true, FailedAt: 6 * time.Second, Why: "died ktstr_fifo: runnable task stall", Events: []tline.Event{
		{At: 5800 * time.Millisecond, Source: tline.Probe, Group: "balance_scx", Text: "cpu0 pid 0 balance_scx(rq=cpu0)"},
		{At: 5801 * time.Millisecond, Source: tline.Probe, Group: "fifo_dispatch", Text: "cpu0 pid 0 fifo_dispatch(cpu=0)"},
		{At: 5802 * time.Millisecond, Source: tline.Probe, Group: "balance_scx", Text: "cpu1 pid 0 balance_scx(rq=cpu1)"},
		{At: 6 * time.Second, Source: tline.Sched, Text: "died ktstr_fifo: runnable task stall", Failed: true},
		{At: 6500 * time.Millisecond, Source: tline.Check, Text: "starvation failed [cg_1]: starved", Failed: true},
	}}
	r.Probes = &probe.Results{Setup: 750 * time.Millisecond,
		Counts:  []probe.Count{{Func: "balance_scx", How: "fentry", Calls: 589}, {Func: "fifo_dispatch", How: "fentry on BPF", Calls: 438}},
		Missing: []probe.Missing{{Func: "inlined_fn", Why: "not in the kernel's BTF"}}}
	r.Explain = "timeline around the failure at +6s (died ktstr_fifo: <stall>):\n  +5.8s probe ..."
	r.Extra = map[string][]byte{"timeline.txt": []byte("the whole timeline\n"), "snapshots.json": []byte("[]\n")}
	return r
}

func TestIntrospectionInTrace(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if err := Write(dir, introspectRun(t)); err != nil {
		t.Fatal(err)
	}
	tr, err := ParseTrace([]byte(readFile(t, dir, FileTrace)))
	if err != nil {
		t.Fatal(err)
	}
	count := tr.Tracks()
	want := map[string]int{
		"i snapshot halfway": 1, "i snapshot a task waited half the watchdog": 1,
		"i balance_scx": 2, "i fifo_dispatch": 1, "M probe balance_scx": 1, "M probe fifo_dispatch": 1,
		"i check failed": 1, "i failure": 1, "M snapshots": 1,
	}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%q: %d events, want %d", k, count[k], n)
		}
	}
	for _, e := range tr.TraceEvents {
		if e.Name == "failure" && (e.Ts != us(6*time.Second) || e.S != "g") {
			t.Errorf("failure at %v µs scope %q, want at 6 s and global", e.Ts, e.S)
		}
	}
}

func TestIntrospectionInReportAndFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if err := Write(dir, introspectRun(t)); err != nil {
		t.Fatal(err)
	}
	page := readFile(t, dir, FileReport)
	assertMatches(t, page, []pageCheck{
		{"the explanation, escaped", `<pre class="explain">timeline around the failure at (\+|&#43;)6s \(died ktstr_fifo: &lt;stall&gt;\)`, 1},
		{"a row per snapshot", `<tr class="snapshot">`, 2},
		{"a row per probe", `<tr class="probe">`, 2},
		{"what was not attached", `<li class="probe-missing"><code>inlined_fn</code> not attached`, 1},
		{"links to the extra files", `<a href="(timeline\.txt|snapshots\.json)">`, 2},
	})
	assertSelfContained(t, page)
	if got := readFile(t, dir, "timeline.txt"); got != "the whole timeline\n" {
		t.Errorf("timeline.txt = %q", got)
	}
	var res Result
	if err := readJSON(filepath.Join(dir, FileResult), &res); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(res.Files, "timeline.txt") || !slices.Contains(res.Files, "snapshots.json") {
		t.Errorf("result.json files %v: want the extra files listed", res.Files)
	}
	// A run without any of it renders none of the sections.
	plain := filepath.Join(t.TempDir(), "plain")
	if err := Write(plain, synthRun(t, fixture{cg1Share: 0.5})); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{`id="explain"`, `id="snapshots"`, `id="probes"`} {
		if strings.Contains(readFile(t, plain, FileReport), id) {
			t.Errorf("a run without introspection has the section %s", id)
		}
	}
}

// An extra file may not escape the directory nor replace one of its own.
func TestExtraFileNames(t *testing.T) {
	for _, name := range []string{"../x", "a/b", ".hidden", "", FileReport, FileResult, FileIndex} {
		r := synthRun(t, fixture{cg1Share: 0.5})
		r.Extra = map[string][]byte{name: []byte("x")}
		if err := Write(filepath.Join(t.TempDir(), "run"), r); err == nil {
			t.Errorf("extra file %q accepted", name)
		}
	}
}
