package guest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolveIncludes(t *testing.T) {
	dir := t.TempDir()
	pathA := filepath.Join(dir, "pa")
	pathB := filepath.Join(dir, "pb")
	// The first PATH entry has a non-executable "tool": it must be skipped.
	writeFile(t, filepath.Join(pathA, "tool"), "doc", 0o644)
	tool := writeFile(t, filepath.Join(pathB, "tool"), "#!/bin/sh\n", 0o755)
	t.Setenv("PATH", pathA+string(os.PathListSeparator)+pathB)
	abs := writeFile(t, filepath.Join(dir, "abs.txt"), "a", 0o644)
	writeFile(t, filepath.Join(dir, "work", "rel", "r.txt"), "r", 0o644)
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(dir, "work")

	got, err := ResolveIncludes([]string{abs, "rel/r.txt", "./rel/r.txt", "tool"}, work)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{abs, filepath.Join(work, "rel/r.txt"), filepath.Join(work, "rel/r.txt"), tool}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("resolved %q, want %q", got, want)
	}

	errs := []struct {
		spec, want string
	}{
		{"no-such-tool", "include file 'no-such-tool' not found in PATH"},
		{filepath.Join(dir, "missing.txt"), "include file does not exist on this host: " + filepath.Join(dir, "missing.txt")},
		{filepath.Join(dir, "adir"), "is a directory: only regular files can be included"},
	}
	for _, e := range errs {
		_, err := ResolveIncludes([]string{e.spec}, work)
		if err == nil || !strings.Contains(err.Error(), e.want) {
			t.Errorf("ResolveIncludes(%q): error %v, want it to contain %q", e.spec, err, e.want)
		}
	}
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestIncludeFiles(t *testing.T) {
	script := writeFile(t, filepath.Join(t.TempDir(), "run.sh"), "#!/bin/sh\n", 0o755)
	got, err := IncludeFiles(script)
	if err != nil || len(got) != 1 || got["/include/run.sh"] != script {
		t.Fatalf("script: %v, %v", got, err)
	}
	const dynamic = "/bin/sh" // a dynamically linked program on every Debian host
	if _, err := os.Stat(dynamic); err != nil {
		t.Skipf("no %s: %v", dynamic, err)
	}
	got, err = IncludeFiles(dynamic)
	if err != nil {
		t.Fatal(err)
	}
	var libc bool
	for gp, hp := range got {
		if gp != hp && gp != "/include/sh" {
			t.Errorf("%s packed at %s, want its host path", hp, gp)
		}
		libc = libc || strings.Contains(gp, "libc.so")
	}
	if got["/include/sh"] != dynamic || !libc {
		t.Errorf("%s: %v, want the program and its libc", dynamic, got)
	}
}
