package main

import (
	"context"
	"path/filepath"
	"testing"
)

// Bad scheduler inputs end `ktstr run` before anything boots: a usage
// error (2) for a malformed flag, a failure (1) for a file that cannot be
// a scheduler.
func TestRunRejectsBadSchedulerInputs(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"--scheduler", filepath.Join(dir, "scx_gone")}, 1},
		{[]string{"--scheduler", "/etc/passwd"}, 1},
		{[]string{"--map-write", "no-value"}, 2},
		{[]string{"--watchdog", "1m", "--scheduler", "/etc/hostname"}, 1},
		{[]string{"--test", "demo_eevdf", "--sched-arg", "-v"}, 1},
	} {
		if code := runRun(context.Background(), tc.args); code != tc.code {
			t.Errorf("ktstr run %v = %d, want %d", tc.args, code, tc.code)
		}
	}
}
