package ktstr

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAttachedSchedulerAlive(t *testing.T) {
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
	h := &attachedScheduler{name: "simple"}
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
