package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunListJSON(t *testing.T) {
	r := ktstrCLI(t, cliOpts{}, "run", "--list", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var tests []listedTest
	if err := json.Unmarshal([]byte(r.stdout), &tests); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	byName := map[string]listedTest{}
	for _, lt := range tests {
		byName[lt.Name] = lt
	}
	demo, ok := byName["demo"]
	if !ok || demo.Scheduler != "ktstr_fifo" || demo.Topology == "" || demo.DurationS <= 0 || demo.Flags == nil {
		t.Errorf("demo listed as %+v", demo)
	}
	if byName["demo_eevdf"].Scheduler != "eevdf" {
		t.Errorf("demo_eevdf listed as %+v", byName["demo_eevdf"])
	}
	// A name narrows the list; the text form has a header and columns.
	r = ktstrCLI(t, cliOpts{}, "run", "demo", "--list")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "NAME") || !strings.HasPrefix(lines[1], "demo ") {
		t.Errorf("run demo --list: exit %d\n%s", r.code, r.stdout)
	}
}

// A run that cannot happen still reports, in the formats asked for, as
// could-not-test (125): an <error>, not a <failure>.
func TestRunReportsWhenItCannotTest(t *testing.T) {
	scratchCache(t)
	junit := filepath.Join(t.TempDir(), "run.xml")
	r := ktstrCLI(t, cliOpts{}, "run", "demo", "--kernel", "6.1.1", "--json", "--junit", junit)
	if r.code != exitCouldNotTest {
		t.Fatalf("exit %d, want 125\n%s", r.code, r.stderr)
	}
	var rep runReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if rep.Test != "demo" || rep.Verdict != "error" || !strings.Contains(rep.Error, "no kernel found") {
		t.Errorf("JSON %+v", rep)
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var s junitSuite
	if err := xml.Unmarshal(b, &s); err != nil || s.Tests != 1 || s.Errors != 1 || s.Failures != 0 || s.Cases[0].Name != "demo" {
		t.Errorf("JUnit %+v, %v:\n%s", s, err, b)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]string{"5": "5s", "2.5": "2.5s", "1m30s": "1m30s", "500ms": "500ms"} {
		d, err := parseDuration(in)
		if err != nil || d.String() != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %s", in, d, err, want)
		}
	}
	for _, in := range []string{"0", "-3", "5x", "", "-1s"} {
		if _, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q) accepted it", in)
		}
	}
}

func TestShellJoin(t *testing.T) {
	got := shellJoin([]string{"ls", "-l", "/sys/devices/system/cpu", "a b", "it's", ""})
	want := `ls -l /sys/devices/system/cpu 'a b' 'it'\''s' ''`
	if got != want {
		t.Errorf("shellJoin = %s, want %s", got, want)
	}
}

func TestPaint(t *testing.T) {
	e := &env{color: true}
	if got := e.paint("PASS"); got != ansiGreen+"PASS"+ansiReset {
		t.Errorf("PASS on a terminal: %q", got)
	}
	if got := e.paint("MISMATCH"); !strings.HasPrefix(got, ansiRed) {
		t.Errorf("MISMATCH on a terminal: %q", got)
	}
	if got := (&env{}).paint("FAIL"); got != "FAIL" {
		t.Errorf("FAIL without colour: %q", got)
	}
}

// Bad scheduler inputs end `ktstr run` as usage errors before anything
// boots or any kernel is looked up.
func TestRunRejectsBadSchedulerInputs(t *testing.T) {
	scratchCache(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--scheduler", filepath.Join(dir, "scx_gone")}, "no such file"},
		{[]string{"--scheduler", "/etc/passwd"}, "not an ELF file"},
		{[]string{"--map-write", "no-value"}, "--map-write"},
		{[]string{"--watchdog", "1m", "--scheduler", "/bin/true"}, "at most 30s"},
		{[]string{"demo_eevdf", "--sched-arg", "-v"}, "runs under EEVDF"},
	} {
		r := ktstrCLI(t, cliOpts{}, append([]string{"run"}, tc.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("ktstr run %v: exit %d, stderr %q; want %d and %q", tc.args, r.code, r.stderr, exitUsage, tc.want)
		}
	}
}
