package results

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/verdict"
)

func TestReportHTML(t *testing.T) {
	r := synthRun(t, fixture{cg1Share: 0.1, died: true})
	r.Verdict = verdict.Fail
	r.Reasons = []string{"share_ratio fail [cg_0 vs cg_1]: <ratio 9.0>"}
	dir := filepath.Join(t.TempDir(), "run")
	if err := Write(dir, r); err != nil {
		t.Fatal(err)
	}
	page := readFile(t, dir, FileReport)
	assertMatches(t, page, []pageCheck{
		{"one timeline row per CPU", `<g class="cpu-row" data-cpu="\d+">`, 2},
		{"the reason, escaped", `<li class="reason">share_ratio fail \[cg_0 vs cg_1\]: &lt;ratio 9.0&gt;</li>`, 1},
		{"the verdict", `<span class="badge" id="verdict">fail</span>`, 1},
		{"a histogram per cgroup", `<figure class="hist-cgroup" data-cgroup="cg_\d">`, 2},
		{"a row per worker", `<tr class="worker">`, 4},
		{"phase bands", `<g class="phase">`, 2},
		{"the stall mark", `<path class="stall"`, 1},
		{"the scheduler's death", `<g class="sched-event died">`, 1},
		{"links to the raw files (and metrics.json again in its section)", `<a href="(trace|metrics|records|console|monitor|workers|result)\.(json|jsonl|log)">`, 8},
	})
	assertSelfContained(t, page)
}

// pageCheck is how many times a regexp must match a page, and why.
type pageCheck struct {
	what string
	re   string
	n    int
}

func assertMatches(t *testing.T, page string, checks []pageCheck) {
	t.Helper()
	for _, c := range checks {
		if n := len(regexp.MustCompile(c.re).FindAllString(page, -1)); n != c.n {
			t.Errorf("%s: %d matches of %s, want %d", c.what, n, c.re, c.n)
		}
	}
}

// assertSelfContained fails a page that would fetch anything: scripts,
// stylesheets, images or fonts from anywhere.
func assertSelfContained(t *testing.T, page string) {
	t.Helper()
	for _, bad := range []string{"<script", "<link", "<img", "<iframe", "@import", "url(", `src="`} {
		if strings.Contains(page, bad) {
			t.Errorf("the page has %q: it must not fetch anything", bad)
		}
	}
	// The only absolute URL allowed is SVG's namespace name.
	for _, u := range regexp.MustCompile(`https?://[^"' <)]+`).FindAllString(page, -1) {
		if u != "http://www.w3.org/2000/svg" {
			t.Errorf("the page names %s", u)
		}
	}
}

// A run that never got as far as samples or workers still renders, with
// a row per CPU of the topology.
func TestReportEmptyRun(t *testing.T) {
	r := &Run{Test: "early", Topology: topology.Must("1n2l2c1t"), Verdict: verdict.Fail, Reasons: []string{"guest kernel panicked"}}
	var b bytes.Buffer
	v := newView(r)
	if err := writeReport(&b, v, newResult(r, v, nil), &Metrics{}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), `class="cpu-row"`); n != 4 {
		t.Errorf("%d CPU rows, want 4", n)
	}
	if !strings.Contains(b.String(), "no worker reports") {
		t.Error("the page does not say there are no worker reports")
	}
}

func TestIndex(t *testing.T) {
	root := t.TempDir()
	pass, fail := synthRun(t, fixture{cg1Share: 0.5}), synthRun(t, fixture{cg1Share: 0.05})
	fail.Verdict, fail.Reasons = verdict.Fail, []string{"share_ratio fail"}
	for name, r := range map[string]*Run{"fifo": pass, "unfair": fail} {
		if err := Write(filepath.Join(root, name), r); err != nil {
			t.Fatal(err)
		}
	}
	yes, no := true, false
	err := WriteIndex(root, "ktstr matrix", []IndexCase{
		{Name: "fifo", Dir: "fifo", Expected: "pass", Match: &yes},
		{Name: "unfair", Dir: "unfair", Expected: "pass", Match: &no},
		{Name: "gone", Dir: "gone"},
	})
	if err != nil {
		t.Fatal(err)
	}
	idx := readIndexIfAny(root)
	if idx == nil || len(idx.Cases) != 3 || idx.Cases[1].Verdict != verdict.Fail || idx.Cases[2].Missing == "" {
		t.Fatalf("index.json = %+v", idx)
	}
	page := readFile(t, root, FileIndexHTML)
	for _, want := range []string{`<a href="fifo/report.html">fifo</a>`, `<a href="unfair/report.html">unfair</a>`,
		`<tr class="case verdict-pass match">`, `<tr class="case verdict-fail mismatch">`, "pass ✓", "pass ✗ mismatch",
		"share_ratio fail", "did not complete"} {
		if !strings.Contains(page, want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	assertSelfContained(t, page)
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}
