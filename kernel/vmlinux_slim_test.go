package kernel

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"
)

func TestSlimVmlinuxErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte("not a kernel\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable() // an ELF with no .BTF
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, in, want string
	}{
		{"missing file", filepath.Join(dir, "nope"), "no such file"},
		{"not an ELF", text, "not an ELF file"},
		{"no BTF", self, "CONFIG_DEBUG_INFO_BTF=y"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(dir, "out")
			err := SlimVmlinux(tt.in, out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("SlimVmlinux(%s) = %v, want an error containing %q", tt.in, err, tt.want)
			}
			ents, _ := os.ReadDir(dir)
			if len(ents) != 1 { // only notes.txt: no output, no temp file
				t.Errorf("files left behind in %s: %v", dir, ents)
			}
		})
	}
}

// TestSlimVmlinux slims a small object file with .BTF, and the kernel
// under test's vmlinux when there is one, and checks that what the
// harness reads is unchanged and nothing else is left.
func TestSlimVmlinux(t *testing.T) {
	t.Run("fake", func(t *testing.T) { checkSlim(t, fakeVmlinux(t)) })
	t.Run("kernel under test", func(t *testing.T) {
		v, err := FindVmlinux(context.Background())
		if errors.Is(err, ErrNotFound) {
			t.Skipf("no kernel under test (`ktstr kernel build`): %v", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		checkSlim(t, v)
	})
}

func checkSlim(t *testing.T, in string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "vmlinux")
	if err := SlimVmlinux(in, out); err != nil {
		t.Fatal(err)
	}
	fi, fo := openELF(t, in), openELF(t, out)
	if len(fi.Sections) != len(fo.Sections) {
		t.Fatalf("%d sections, want %d", len(fo.Sections), len(fi.Sections))
	}
	limit := int64(64 + 64*len(fo.Sections)) // ELF header and section headers
	for i, si := range fi.Sections {
		so := fo.Sections[i]
		// Everything but type and offset stays: indices, addresses and
		// sizes are what symbols and BTF data sections refer to.
		a, b := si.SectionHeader, so.SectionHeader
		a.Type, a.Offset, a.FileSize, b.Type, b.Offset, b.FileSize = 0, 0, 0, 0, 0, 0
		if a != b {
			t.Errorf("section %d: %+v, want %+v", i, b, a)
		}
		// What the harness reads: symbols (SYMTAB, STRTAB), BTF, and
		// notes (the build ID). Spelled out here, not taken from
		// keepsContents, so the test says what the file must hold.
		kept := si.Type == elf.SHT_SYMTAB || si.Type == elf.SHT_STRTAB || si.Type == elf.SHT_NOTE || si.Name == ".BTF"
		switch {
		case kept && so.Type != si.Type:
			t.Errorf("section %s: type %s, want %s", si.Name, so.Type, si.Type)
		case kept:
			di, _ := si.Data()
			do, _ := so.Data()
			if !bytes.Equal(di, do) {
				t.Errorf("section %s: contents differ", si.Name)
			}
			limit += int64(si.Size + si.Addralign)
		case si.Type != elf.SHT_NULL && so.Type != elf.SHT_NOBITS:
			t.Errorf("section %s: type %s, want NOBITS", si.Name, so.Type)
		}
	}
	if len(fo.Progs) != 0 {
		t.Errorf("%d program headers left", len(fo.Progs))
	}
	symsIn, err := fi.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	symsOut, err := fo.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(symsIn, symsOut) {
		t.Errorf("symbols differ (%d in, %d out)", len(symsIn), len(symsOut))
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() > limit {
		t.Errorf("slim vmlinux is %d bytes, more than its kept sections and headers (%d)", st.Size(), limit)
	}
	n, err := checkBTF(out, true)
	if err != nil || n == 0 {
		t.Errorf("BTF of the slim vmlinux: %d types, %v", n, err)
	}
	if _, err := btf.LoadSpec(out); err != nil {
		t.Errorf("cilium/ebpf cannot load the slim vmlinux: %v", err)
	}
	// Slimming is idempotent: a slim vmlinux (a cache entry, say) can be
	// slimmed again and stays byte for byte the same.
	again := out + ".again"
	if err := SlimVmlinux(out, again); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(out)
	b, _ := os.ReadFile(again)
	if !bytes.Equal(a, b) {
		t.Errorf("slimming a slim vmlinux changed it (%d -> %d bytes)", len(a), len(b))
	}
	t.Logf("%s: %d -> %d bytes", in, fileSize(in), st.Size())
}

func openELF(t *testing.T, p string) *elf.File {
	t.Helper()
	f, err := elf.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
