package qemu

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestSweepStaleWorkDirs(t *testing.T) {
	base := t.TempDir()
	mine := filepath.Join(base, fmt.Sprintf("ktstr-vm-%d-1", os.Getpid()))
	// A pid far above pid_max's default cannot be alive.
	gone := filepath.Join(base, "ktstr-vm-999999999-2")
	legacy := filepath.Join(base, "ktstr-vm-3")
	for _, d := range []string{mine, gone, legacy} {
		if err := os.MkdirAll(filepath.Join(d, "sub"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	sweepStaleWorkDirs(base)
	for d, want := range map[string]bool{mine: true, gone: false, legacy: true} {
		if _, err := os.Stat(d); (err == nil) != want {
			t.Errorf("%s exists=%v, want %v", filepath.Base(d), err == nil, want)
		}
	}
}
