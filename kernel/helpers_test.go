package kernel

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf/btf"
)

var (
	fakeVmlinuxOnce sync.Once
	fakeVmlinuxDir  string
	fakeVmlinuxPath string
	fakeVmlinuxErr  string
)

// TestMain removes the fake vmlinux shared by all tests of the binary.
func TestMain(m *testing.M) {
	code := m.Run()
	if fakeVmlinuxDir != "" {
		os.RemoveAll(fakeVmlinuxDir)
	}
	os.Exit(code)
}

// fakeVmlinux returns a small ELF object with a symbol table and a .BTF
// section describing struct sched_ext_ops: enough for checkBTF and
// usableEntry without a real kernel.
func fakeVmlinux(t testing.TB) string {
	t.Helper()
	fakeVmlinuxOnce.Do(func() {
		for _, tool := range []string{"gcc", "objcopy"} {
			if _, err := exec.LookPath(tool); err != nil {
				fakeVmlinuxErr = tool + " not installed"
				return
			}
		}
		dir, err := os.MkdirTemp("", "ktstr-fake-vmlinux-")
		if err != nil {
			fakeVmlinuxErr = err.Error()
			return
		}
		fakeVmlinuxDir = dir
		u64 := &btf.Int{Name: "unsigned long long", Size: 8}
		ops := &btf.Struct{Name: "sched_ext_ops", Size: 8, Members: []btf.Member{{Name: "flags", Type: u64}}}
		b, err := btf.NewBuilder([]btf.Type{ops}, nil)
		if err != nil {
			fakeVmlinuxErr = err.Error()
			return
		}
		raw, err := b.Marshal(nil, nil)
		if err != nil {
			fakeVmlinuxErr = err.Error()
			return
		}
		blob := filepath.Join(dir, "btf.bin")
		obj := filepath.Join(dir, "obj.o")
		out := filepath.Join(dir, "vmlinux")
		if err := os.WriteFile(blob, raw, 0o644); err != nil {
			fakeVmlinuxErr = err.Error()
			return
		}
		cc := exec.Command("gcc", "-c", "-x", "c", "-", "-o", obj)
		cc.Stdin = bytes.NewBufferString("int ktstr_fake_symbol = 1;\n")
		if o, err := cc.CombinedOutput(); err != nil {
			fakeVmlinuxErr = "gcc: " + string(o)
			return
		}
		if o, err := exec.Command("objcopy", "--add-section", ".BTF="+blob, obj, out).CombinedOutput(); err != nil {
			fakeVmlinuxErr = "objcopy: " + string(o)
			return
		}
		fakeVmlinuxPath = out
	})
	if fakeVmlinuxPath == "" {
		t.Skipf("cannot make a fake vmlinux: %s", fakeVmlinuxErr)
	}
	return fakeVmlinuxPath
}

// writeBzImage writes a file with an x86 setup header whose version
// string is version: enough for CheckImage. Parent directories are made.
func writeBzImage(t testing.TB, path, version string) {
	t.Helper()
	h := make([]byte, 0x1000)
	binary.LittleEndian.PutUint32(h[x86HeaderMagic:], hdrS)
	binary.LittleEndian.PutUint16(h[x86KernelVersion:], 0x200) // the string at 0x400
	copy(h[0x400:], version+"\x00")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, h, 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyFile copies src to dst (0644) for fixtures.
func copyFixture(t testing.TB, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// storeFake stores an entry with small fake files and the given metadata.
func storeFake(t testing.TB, c *Cache, key string, meta Metadata, withVmlinux bool) *Entry {
	t.Helper()
	dir := t.TempDir()
	img := filepath.Join(dir, "bzImage")
	if err := os.WriteFile(img, []byte("fake bzImage for "+key), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "config")
	if err := os.WriteFile(cfg, []byte("CONFIG_SCHED_CLASS_EXT=y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := Files{Image: img, Config: cfg}
	if withVmlinux {
		f.Vmlinux = fakeVmlinux(t)
	}
	e, err := c.Store(context.Background(), key, f, meta)
	if err != nil {
		t.Fatalf("Store(%s): %v", key, err)
	}
	return e
}

func meta(version, kc string, builtAt time.Time) Metadata {
	return Metadata{Version: version, Source: SourceTarball, Arch: HostArch(), KconfigHash: kc, BuiltAt: builtAt}
}

func openTestCache(t testing.TB) *Cache {
	t.Helper()
	c, err := OpenCache(filepath.Join(t.TempDir(), "cache"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
