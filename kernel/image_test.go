package kernel

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckImage(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "bzImage")
	writeBzImage(t, good, "6.12.118 (ktstr@ktstr) #1 SMP Thu Dec  3 09:20:09 UTC 2026")
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, path string
		release    string   // want for a good image
		errs       []string // else the error must say each
	}{
		{"bzImage", good, "6.12.118", nil},
		{"text file", write("passwd", []byte("root:x:0:0::/root:/bin/sh\n")), "", []string{"not a kernel image", `"HdrS"`, "arch/x86/boot/bzImage"}},
		{"vmlinux", write("vmlinux", append([]byte("\x7fELF"), make([]byte, 64)...)), "", []string{"ELF file (a vmlinux?)"}},
		{"empty", write("empty", nil), "", []string{"not a kernel image"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := CheckImage(tt.path)
			if tt.errs == nil {
				if err != nil || info.Release() != tt.release {
					t.Fatalf("CheckImage = %+v, %v; want release %s", info, err, tt.release)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckImage(%s) accepted it", tt.name)
			}
			for _, w := range tt.errs {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	if _, err := CheckImage(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing file passed")
	}
	arm := make([]byte, 0x100)
	copy(arm[arm64Magic:], "ARM\x64")
	if _, err := checkImageHeader(arm, "aarch64"); err != nil {
		t.Errorf("arm64 Image: %v", err)
	}
	if _, err := checkImageHeader(arm, "x86_64"); err == nil {
		t.Error("an arm64 Image passed as a bzImage")
	}
}

// The real default kernel, when cached, carries its version string.
func TestCheckImageCachedKernel(t *testing.T) {
	c, err := OpenCache("", nil)
	if err != nil {
		t.Skipf("no kernel cache: %v", err)
	}
	entries, _ := c.List()
	for _, e := range entries {
		if e.Corrupt != "" || e.Meta.Source != SourceTarball {
			continue
		}
		info, err := CheckImage(e.Image)
		if err != nil {
			t.Fatalf("cached kernel %s: %v", e.Key, err)
		}
		// The release may carry a CONFIG_LOCALVERSION suffix (-kcdemo).
		if !strings.HasPrefix(info.Release(), e.Meta.Version) {
			t.Errorf("cached kernel %s: image release %q, metadata says %s", e.Key, info.Release(), e.Meta.Version)
		}
		return
	}
	t.Skip("no cached tarball kernel")
}

// bannerObject compiles an x86-64 object holding linux_banner, as a full
// vmlinux has it.
func bannerObject(t *testing.T, banner string) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not installed")
	}
	out := filepath.Join(t.TempDir(), "vmlinux")
	cc := exec.Command("gcc", "-c", "-x", "c", "-", "-o", out)
	cc.Stdin = bytes.NewBufferString("const char linux_banner[] = \"" + banner + "\\n\";\n")
	if o, err := cc.CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, o)
	}
	return out
}

func TestCheckVmlinux(t *testing.T) {
	img := ImageInfo{Version: "6.12.118 (ktstr@ktstr) #1 SMP Thu Dec  3 09:20:09 UTC 2026"}
	same := bannerObject(t, "Linux version 6.12.118 (ktstr@ktstr) (gcc (Debian 12.2.0-14) 12.2.0, GNU ld 2.40) #1 SMP Thu Dec  3 09:20:09 UTC 2026")
	if err := CheckVmlinux(same, img); err != nil {
		t.Errorf("the same build: %v", err)
	}
	other := bannerObject(t, "Linux version 6.12.118 (ktstr@ktstr) (gcc (Debian 12.2.0-14) 12.2.0, GNU ld 2.40) #2 SMP Fri Dec  4 10:00:00 UTC 2026")
	if err := CheckVmlinux(other, img); err == nil || !strings.Contains(err.Error(), "from another build") {
		t.Errorf("another build of the same release: %v, want a mismatch", err)
	}
	// A slimmed vmlinux has no banner contents: nothing to compare.
	if err := CheckVmlinux(fakeVmlinux(t), img); err != nil {
		t.Errorf("a vmlinux without a banner: %v", err)
	}
	notELF := filepath.Join(t.TempDir(), "vmlinux")
	os.WriteFile(notELF, []byte("x"), 0o644)
	if err := CheckVmlinux(notELF, img); err == nil || !strings.Contains(err.Error(), "not an ELF file") {
		t.Errorf("not an ELF: %v", err)
	}
}
