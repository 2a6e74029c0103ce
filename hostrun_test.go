package ktstr

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/scheds"
	"github.com/ktstr-go/ktstr/topology"
)

// Host-only, so RunRegistered never boots it.
var _ = Register("hostrun_fixture_host_only", Opts{HostOnly: true}, func(*scenario.Ctx) error { return nil })

func TestParseSeconds(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30", 30 * time.Second, true},
		{"1m30s", 90 * time.Second, true},
		{"250ms", 250 * time.Millisecond, true},
		{"0", 0, false},
		{"-5", 0, false},
		{"-1s", 0, false},
		{"abc", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, err := parseSeconds("--duration", tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseSeconds(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestCloseMatches(t *testing.T) {
	names := []string{"two_cgroups", "two_cgroups_smt", "fairness", "isolation", "starvation"}
	tests := []struct {
		in   string
		want string
	}{
		{"two_cgroup", "two_cgroups two_cgroups_smt"}, // substring first
		{"fairnes", "fairness"},
		{"isolatoin", "isolation"},
		{"zzz", ""},
	}
	for _, tt := range tests {
		if got := strings.Join(closeMatches(tt.in, names), " "); got != tt.want {
			t.Errorf("closeMatches(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func runToolT(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := runTool(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestToolDispatch(t *testing.T) {
	if code, _, stderr := runToolT(); code != 2 || !strings.Contains(stderr, "usage: <test binary> ktstr <command>") {
		t.Errorf("no args: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := runToolT("bogus"); code != 2 || !strings.Contains(stderr, `unknown in-binary command "bogus"`) {
		t.Errorf("bogus: exit %d, stderr %q", code, stderr)
	}
	code, stdout, _ := runToolT("list")
	if code != 0 || strings.Contains(stdout, "hostrun_fixture_host_only") {
		t.Errorf("list: exit %d, stdout %q (host-only tests are not exportable)", code, stdout)
	}
	code, stdout, _ = runToolT("list", "--all")
	if code != 0 || !strings.Contains(stdout, "hostrun_fixture_host_only\t(not exportable: host-only)\n") {
		t.Errorf("list --all: exit %d, stdout %q", code, stdout)
	}
	code, _, stderr := runToolT("manifest", "hostrun_fixture_host_onyl")
	if code != 1 || !strings.Contains(stderr, `no registered test named "hostrun_fixture_host_onyl"; did you mean: hostrun_fixture_host_only?`) {
		t.Errorf("manifest typo: exit %d, stderr %q", code, stderr)
	}
	code, stdout, _ = runToolT("manifest", "hostrun_fixture_host_only")
	var m ExportManifest
	if code != 0 || json.Unmarshal([]byte(stdout), &m) != nil || !m.HostOnly || m.Exportable() != "host-only" || m.Version != ExportManifestVersion {
		t.Errorf("manifest: exit %d, %+v from %q", code, m, stdout)
	}
	for _, args := range [][]string{{"run"}, {"run", "--test"}, {"run", "--test", "x", "extra"}} {
		if code, _, _ := runToolT(args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	if code, _, stderr := runToolT("run", "--test", "hostrun_fixture_host_only", "--duration", "soon"); code != 2 || !strings.Contains(stderr, `--duration "soon": want a positive number of seconds`) {
		t.Errorf("bad duration: exit %d, stderr %q", code, stderr)
	}
}

func TestExportManifest(t *testing.T) {
	rt := &Test{Name: "m", Opts: Opts{Includes: []string{"a"}, Watchdog: 5 * time.Second}, Body: func(*scenario.Ctx) error { return nil }}
	m, err := exportManifest(rt)
	if err != nil {
		t.Fatal(err)
	}
	self, _ := os.Executable()
	if m.Binary != self || m.Topology != DefaultTopology || m.Duration != DefaultDuration || m.Watchdog != 5*time.Second ||
		len(m.Includes) != 1 || m.Scheduler != nil || m.Exportable() != "" {
		t.Errorf("manifest %+v", m)
	}
	rt.Topology = topology.Must("2n4l2c2t")
	rt.Scheduler = &scheds.Scheduler{Name: "x", Source: scheds.HostBinary{Path: "/bin/true"}, Args: []string{"-v"}, Watchdog: 7 * time.Second}
	rt.Watchdog = 0
	if m, err = exportManifest(rt); err != nil {
		t.Fatal(err)
	}
	if m.Topology != rt.Topology || m.Scheduler == nil || m.Scheduler.Name != "x" || m.Watchdog != 7*time.Second ||
		strings.Join(m.Scheduler.Argv, " ") != "/sched/true -v" || m.Scheduler.Files["/sched/true"] != "/bin/true" {
		t.Errorf("manifest %+v, scheduler %+v", m, m.Scheduler)
	}
}

func TestHostSchedulerAlive(t *testing.T) {
	root := t.TempDir()
	old := schedExtRoot
	schedExtRoot = root
	defer func() { schedExtRoot = old }()
	write := func(state, ops string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(root, "root"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "state"), []byte(state+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "root", "ops"), []byte(ops+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h := &hostScheduler{name: "simple"}
	tests := []struct {
		state, ops, want string
	}{
		{"enabled", "simple", ""},
		{"disabled", "", "scheduler simple is not attached (sched_ext state=disabled)"},
		{"enabled", "rusty", `attached sched_ext scheduler is "rusty", test needs simple`},
	}
	for _, tt := range tests {
		write(tt.state, tt.ops)
		err := h.Alive()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("state %s ops %s: %v, want %q", tt.state, tt.ops, err, tt.want)
		}
	}
	if err := h.Attach(); err == nil {
		t.Error("Attach succeeded on a scheduler the script owns")
	}
}

func TestRemoveCgroupTreeOnPlainDirs(t *testing.T) {
	// On a plain file system rmdir needs the interface files gone, which
	// cgroupfs does by itself; empty directories exercise the
	// depth-first order.
	root := filepath.Join(t.TempDir(), "ktstr-1")
	for _, d := range []string{"a/b/c", "a/d", "e"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := removeCgroupTree(root); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("%s still exists", root)
	}
	if err := removeCgroupTree(root); err != nil {
		t.Errorf("removing a missing tree: %v", err)
	}
}
