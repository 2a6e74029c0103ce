// Package cgroupfs does the few cgroup v2 file-system operations every
// place that owns a test cgroup needs: the guest's PID 1 (the root), the
// test runner in a VM and on bare metal (the test's cgroup), and the
// scenario (its cgroups below that). A test's cgroups need the cpu and
// cpuset controllers; a test's cgroup tree must go away with everything
// still in it.
package cgroupfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Controllers are the controllers a test's cgroups get: cpu.* (weights,
// bandwidth) and cpuset.* (CPU and memory-node placement).
var Controllers = []string{"cpu", "cpuset"}

// EnableControllers makes Controllers available to dir's children by
// writing the missing ones to dir's cgroup.subtree_control.
func EnableControllers(dir string) error {
	have, _ := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
	on := strings.Fields(string(have))
	var want []string
	for _, c := range Controllers {
		if !slices.Contains(on, c) {
			want = append(want, "+"+c)
		}
	}
	if len(want) == 0 {
		return nil
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte(strings.Join(want, " ")), 0); err != nil {
		return fmt.Errorf("enabling %s in %s/cgroup.subtree_control: %w (is a controller missing from the kernel, or does %s hold processes?)",
			strings.Join(want, " "), dir, err, dir)
	}
	return nil
}

// Create makes the cgroup dir, whose parent must exist, with Controllers
// available below it (and enabled in the parent so dir has them).
func Create(dir string) error {
	if err := EnableControllers(filepath.Dir(filepath.Clean(dir))); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("creating cgroup %s: %w", dir, err)
	}
	if err := EnableControllers(dir); err != nil {
		_ = os.Remove(dir)
		return err
	}
	return nil
}

// RemoveTree kills every process left in the cgroup tree at root and
// removes its directories deepest first (cgroup v2 refuses to remove a
// cgroup that has children or processes). A missing root is not an error.
func RemoveTree(root string) error {
	if _, err := os.Stat(root); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	// cgroup.kill (Linux 5.14) kills the whole subtree atomically; older
	// kernels get SIGKILL per listed process.
	if err := writeExisting(filepath.Join(root, "cgroup.kill"), "1"); err != nil {
		killTree(root)
	}
	var dirs []string
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	deadline := time.Now().Add(5 * time.Second)
	for i := len(dirs) - 1; i >= 0; i-- {
		var err error
		for {
			err = os.Remove(dirs[i])
			// EBUSY while killed processes are still exiting.
			if err == nil || errors.Is(err, os.ErrNotExist) || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing cgroup %s: %w", dirs[i], err)
		}
	}
	return nil
}

// writeExisting writes to a control file without ever creating one.
func writeExisting(path, val string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(val)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// killTree SIGKILLs every process listed in the tree, except this one.
func killTree(root string) {
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(filepath.Join(p, "cgroup.procs"))
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
				_ = unix.Kill(pid, unix.SIGKILL)
			}
		}
		return nil
	})
}
