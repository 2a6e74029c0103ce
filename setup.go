package ktstr

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ktstr-go/ktstr/bpfmap"
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/internal/cgroupfs"
)

// applySysctls writes the test's sysctls (before its scheduler starts)
// and records each value read back.
func applySysctls(sysctls []guest.Sysctl, emit func(string, any)) error {
	for _, s := range sysctls {
		if err := s.Apply(); err != nil {
			return err
		}
		got, _ := s.Read()
		emit(guest.KindSysctl, map[string]string{"key": s.Key, "value": got})
	}
	return nil
}

// applyMapWrites makes the test's BPF map writes on the attached
// scheduler and records each one read back.
func applyMapWrites(writes []bpfmap.Write, emit func(string, any)) error {
	for _, w := range writes {
		a, err := bpfmap.Apply(w)
		if err != nil {
			return fmt.Errorf("BPF map write %s: %w", w, err)
		}
		emit(guest.KindMapWrite, a)
	}
	return nil
}

// createCgroupPath creates the test's cgroup dir and any missing
// ancestors (a nested cgroup parent such as "work.slice/cells"), each
// with the test controllers, and returns the topmost directory it
// created: removing that removes everything it made.
func createCgroupPath(dir string) (string, error) {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("cgroup %s: %w", d, err)
		}
		if d == filepath.Dir(d) {
			return "", fmt.Errorf("cgroup %s: no existing ancestor", dir)
		}
		missing = append(missing, d)
	}
	if len(missing) == 0 {
		return "", fmt.Errorf("cgroup %s already exists: another run may be using it; remove it (rmdir) first", dir)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := cgroupfs.Create(missing[i]); err != nil {
			if i < len(missing)-1 {
				_ = cgroupfs.RemoveTree(missing[len(missing)-1])
			}
			return "", err
		}
	}
	return missing[len(missing)-1], nil
}
