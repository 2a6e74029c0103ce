package kvm

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Each way a KVM device node can be unusable gets an error saying which,
// with the fix.
func TestOpenPathErrors(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "kvm")
	if err := os.WriteFile(regular, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, path, want string }{
		{"missing", filepath.Join(dir, "absent"), "does not exist: enable virtualization"},
		{"regular file", regular, "is not a KVM device"},
		{"another device", "/dev/null", "/dev/null is not a KVM device"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := OpenPath(tc.path)
			if err == nil {
				s.Close()
				t.Fatalf("OpenPath(%s) succeeded", tc.path)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("OpenPath(%s) = %q, want %q", tc.path, err, tc.want)
			}
		})
	}
}

// A node this user may not open (root-owned, mode 0600, opened by
// another user) says so and names the kvm group. As root, the check runs
// on a thread whose filesystem UID is nobody's, which also drops root's
// permission override for that thread only.
func TestOpenPathPermission(t *testing.T) {
	node := filepath.Join(t.TempDir(), "kvm")
	if err := os.WriteFile(node, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var err error
	skip := ""
	done := make(chan struct{})
	go func() {
		defer close(done)
		if os.Geteuid() == 0 {
			// The thread is never unlocked: it exits with this goroutine
			// instead of going back to the pool with nobody's fsuid.
			runtime.LockOSThread()
			setfsuid := func(uid uintptr) uintptr {
				prev, _, _ := unix.RawSyscall(unix.SYS_SETFSUID, uid, 0, 0)
				return prev
			}
			setfsuid(65534)
			// setfsuid returns the previous value: asking again reads
			// whether the first call took (a user namespace without
			// uid 65534, like Bazel's sandbox, refuses it silently).
			if now := setfsuid(65534); now != 65534 {
				skip = "cannot take nobody's filesystem UID here (a user namespace without uid 65534?)"
				return
			}
		} else if cerr := os.Chmod(node, 0); cerr != nil {
			err = cerr
			return
		}
		var s *System
		if s, err = OpenPath(node); err == nil {
			s.Close()
		}
	}()
	<-done
	if skip != "" {
		t.Skip(skip)
	}
	if err == nil || !strings.Contains(err.Error(), "exists but is not accessible: add this user to the kvm group") {
		t.Fatalf("OpenPath on a node we may not open: %v", err)
	}
}
