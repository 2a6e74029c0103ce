package guest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestInitramfsExtractsWithCpio(t *testing.T) {
	if _, err := exec.LookPath("cpio"); err != nil {
		t.Skip("cpio not installed (tools/setup/install-deps.sh installs it)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ir := &Initramfs{
		Files:    map[string]string{"/init": bin, "/sched/a/b/sched": bin},
		Data:     map[string][]byte{"/etc/x.conf": []byte("k=v")},
		Symlinks: map[string]string{"/bin/sh": "busybox"},
	}
	out, err := ir.Build(filepath.Join(dir, "cache"))
	if err != nil {
		t.Fatal(err)
	}
	ext := filepath.Join(dir, "ext")
	os.Mkdir(ext, 0o755)
	cmd := exec.Command("sh", "-c", "cpio -idm --quiet < "+out)
	cmd.Dir = ext
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cpio: %v: %s", err, b)
	}
	for p, want := range map[string]string{"init": "#!/bin/sh\necho hi\n", "sched/a/b/sched": "#!/bin/sh\necho hi\n", "etc/x.conf": "k=v"} {
		got, err := os.ReadFile(filepath.Join(ext, p))
		if err != nil || string(got) != want {
			t.Errorf("%s: %q, %v; want %q", p, got, err, want)
		}
		st, _ := os.Stat(filepath.Join(ext, p))
		if st != nil && st.Mode().Perm() != 0o755 {
			t.Errorf("%s mode %v, want 0755", p, st.Mode().Perm())
		}
	}
	if target, err := os.Readlink(filepath.Join(ext, "bin/sh")); err != nil || target != "busybox" {
		t.Errorf("bin/sh -> %q, %v", target, err)
	}
	// Same content, same key, same file: nothing rebuilt.
	again, err := ir.Build(filepath.Join(dir, "cache"))
	if err != nil || again != out {
		t.Errorf("rebuild gave %s, %v; want cached %s", again, err, out)
	}
}

func TestInitramfsDeterministicAndGzip(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	os.WriteFile(bin, bytes.Repeat([]byte("x"), 5000), 0o600)
	var a, b bytes.Buffer
	ir := &Initramfs{Files: map[string]string{"/init": bin}}
	if _, err := ir.WriteTo(&a); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	os.Chtimes(bin, later, later) // mtime must not matter
	if _, err := ir.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two writes of the same content differ")
	}
	if !strings.HasPrefix(a.String(), "070701") || !strings.Contains(a.String(), "TRAILER!!!") {
		t.Fatal("not a newc archive with a trailer")
	}
	gz := &Initramfs{Files: ir.Files, Gzip: true}
	var c bytes.Buffer
	if _, err := gz.WriteTo(&c); err != nil {
		t.Fatal(err)
	}
	if c.Len() >= a.Len() || c.Bytes()[0] != 0x1f || c.Bytes()[1] != 0x8b {
		t.Fatalf("gzip archive %d bytes (plain %d), magic %x", c.Len(), a.Len(), c.Bytes()[:2])
	}
	k1, _ := ir.Key()
	k2, _ := gz.Key()
	if k1 == k2 {
		t.Fatal("gzip and plain archives share a cache key")
	}
}

func TestInitramfsRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		ir   Initramfs
		want string
	}{
		{"relative path", Initramfs{Data: map[string][]byte{"init": nil}}, "absolute"},
		{"unclean path", Initramfs{Data: map[string][]byte{"/a/../init": nil}}, "absolute and clean"},
		{"missing file", Initramfs{Files: map[string]string{"/init": filepath.Join(dir, "nope")}}, "no such file"},
		{"directory", Initramfs{Files: map[string]string{"/init": dir}}, "not a regular file"},
		{"duplicate", Initramfs{Data: map[string][]byte{"/x": nil}, Symlinks: map[string]string{"/x": "y"}}, "given twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.ir.Key()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want it to mention %q", err, tc.want)
			}
		})
	}
}
