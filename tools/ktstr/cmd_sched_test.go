package main

import (
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/scheds"
)

func TestExportScheds(t *testing.T) {
	src := t.TempDir()
	write := func(name string, mode os.FileMode) string {
		p := filepath.Join(src, name)
		if err := os.WriteFile(p, []byte(name), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	b := &scheds.Built{Loader: write("scxload", 0o755), Objects: map[string]string{}, Tools: map[string]string{}}
	for _, n := range scheds.RefNames() {
		b.Objects[n] = write(n+".bpf.o", 0o644)
	}
	b.Tools["scx_simple"] = write("scx_simple", 0o755)
	b.Objects["scx_simple"] = write("scx_simple.bpf.o", 0o644) // a tree object: not for the guest

	// The guest runs /sched/scxload -obj /sched/fifo.bpf.o ...: every
	// /sched/ path of an in-repo scheduler's command line must be exported
	// under its base name, plus the objects no definition names (prime).
	want := []string{"scx_simple"}
	add := func(n string) {
		if !slices.Contains(want, n) {
			want = append(want, n)
		}
	}
	for _, s := range []*scheds.Scheduler{scheds.FIFO, scheds.VTime, scheds.Starve, scheds.Stall, scheds.Error, scheds.Unfair, scheds.Wedge} {
		for _, a := range s.Source.Argv() {
			if strings.HasPrefix(a, guest.SchedDir) {
				add(path.Base(a))
			}
		}
	}
	for _, n := range scheds.RefNames() {
		add(n + ".bpf.o")
	}
	slices.Sort(want)

	dir := filepath.Join(t.TempDir(), "out")
	for i := 0; i < 2; i++ { // twice: a rerun replaces (and keeps no temp file)
		if err := exportScheds(b, dir); err != nil {
			t.Fatalf("export %d: %v", i, err)
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, want) {
		t.Errorf("exported %v, want %v", got, want)
	}
	st, err := os.Stat(filepath.Join(dir, "scxload"))
	if err != nil || st.Mode().Perm()&0o111 == 0 {
		t.Errorf("scxload not executable: %v %v", st, err)
	}
}

func TestExportFileCopiesMode(t *testing.T) {
	src := filepath.Join(t.TempDir(), "bin")
	if err := os.WriteFile(src, []byte("x"), 0o750); err != nil {
		t.Fatal(err)
	}
	// Hard link or copy (another file system): either way the guest
	// needs the executable bit.
	dst := filepath.Join(t.TempDir(), "bin")
	if err := exportFile(src, dst); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(dst)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o750 {
		t.Errorf("mode %v, want 0750", st.Mode().Perm())
	}
}
