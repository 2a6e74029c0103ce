package ktstr

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/scenario"
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
