package guest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Sysctl is one kernel parameter a test sets before its scheduler starts,
// by its sysctl name ("kernel.sched_rt_runtime_us") or its /proc/sys path
// relative to /proc/sys ("kernel/sched_rt_runtime_us").
type Sysctl struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func (s Sysctl) String() string { return s.Key + "=" + s.Value }

// procSys is where sysctls live; a variable so tests can use a fake tree.
var procSys = "/proc/sys"

// Path is the sysctl's file under /proc/sys.
func (s Sysctl) Path() string {
	return filepath.Join(procSys, strings.ReplaceAll(s.Key, ".", "/"))
}

// Check rejects a key that could name something outside /proc/sys.
func (s Sysctl) Check() error {
	k := strings.ReplaceAll(s.Key, ".", "/")
	if s.Key == "" || strings.HasPrefix(k, "/") || filepath.Clean(k) != k || strings.Contains(k, "..") {
		return fmt.Errorf("sysctl %q: want a name like kernel.sched_rt_runtime_us", s.Key)
	}
	return nil
}

// Apply writes the value and reads it back. The kernel prints some values
// in its own form (whitespace between fields of a vector), so the
// comparison ignores how fields are separated.
func (s Sysctl) Apply() error {
	if err := s.Check(); err != nil {
		return err
	}
	p := s.Path()
	if err := writeExisting(p, s.Value); err != nil {
		return fmt.Errorf("sysctl %s: writing %q to %s: %w", s.Key, s.Value, p, err)
	}
	got, err := s.Read()
	if err != nil {
		return err
	}
	if strings.Join(strings.Fields(got), " ") != strings.Join(strings.Fields(s.Value), " ") {
		return fmt.Errorf("sysctl %s: wrote %q, read back %q (the kernel clamped or refused the value)", s.Key, s.Value, got)
	}
	return nil
}

// Read returns the sysctl's current value.
func (s Sysctl) Read() (string, error) {
	b, err := os.ReadFile(s.Path())
	if err != nil {
		return "", fmt.Errorf("sysctl %s: reading %s: %w", s.Key, s.Path(), err)
	}
	return strings.TrimSpace(string(b)), nil
}

// ApplySysctls applies each in order and stops at the first failure,
// which names the sysctl.
func ApplySysctls(sysctls []Sysctl) error {
	for _, s := range sysctls {
		if err := s.Apply(); err != nil {
			return err
		}
	}
	return nil
}

// writeExisting writes a kernel file that must already exist (never
// creating one in its place).
func writeExisting(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
