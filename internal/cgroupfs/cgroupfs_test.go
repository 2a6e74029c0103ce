package cgroupfs

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRemoveTreeOnPlainDirs(t *testing.T) {
	// On a plain file system rmdir needs the interface files gone, which
	// cgroupfs does by itself; empty directories exercise the
	// depth-first order.
	root := filepath.Join(t.TempDir(), "ktstr-1")
	for _, d := range []string{"a/b/c", "a/d", "e"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := RemoveTree(root); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("%s still exists", root)
	}
	if err := RemoveTree(root); err != nil {
		t.Errorf("removing a missing tree: %v", err)
	}
}

// EnableControllers writes only what is missing: on a real cgroup2 file
// the write adds to the set, so a fake file shows what was asked for.
func TestEnableControllersWritesOnlyTheMissing(t *testing.T) {
	tests := []struct{ have, want string }{
		{"", "+cpu +cpuset"},
		{"cpu io", "+cpuset"},
		{"cpuset cpu memory", "cpuset cpu memory"},
	}
	for _, tc := range tests {
		dir := t.TempDir()
		f := filepath.Join(dir, "cgroup.subtree_control")
		if err := os.WriteFile(f, []byte(tc.have), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := EnableControllers(dir); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(f); string(got) != tc.want {
			t.Errorf("with %q enabled: wrote %q, want %q", tc.have, got, tc.want)
		}
	}
}
