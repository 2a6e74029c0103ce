package vmm

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestThreadRunTime(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		path    string
		want    time.Duration
		wantErr string
	}{
		{"schedstat", file("ok", "123456789 2000 7\n"), 123456789 * time.Nanosecond, ""},
		{"empty", file("empty", ""), 0, "is empty"},
		{"not a number", file("bad", "x 1 2\n"), 0, "invalid syntax"},
		{"gone", filepath.Join(dir, "missing"), 0, "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ThreadRunTime(tc.path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ThreadRunTime err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ThreadRunTime = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	// The kernel's own file for this thread parses.
	if _, err := ThreadRunTime(fmt.Sprintf("/proc/self/task/%d/schedstat", unix.Gettid())); err != nil {
		t.Errorf("this thread's schedstat: %v", err)
	}
}
