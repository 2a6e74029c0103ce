package scheds

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// makeTarball packs a tree named name (with tools/sched_ext/Makefile when
// schedExt) into dir/name.tar.xz, the way Debian ships linux-source.
func makeTarball(t *testing.T, dir, name string, schedExt bool) string {
	t.Helper()
	src := t.TempDir()
	sub := "tools/perf"
	if schedExt {
		sub = "tools/sched_ext"
	}
	if err := os.MkdirAll(filepath.Join(src, name, sub), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, name, sub, "Makefile"), []byte("all:\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tarball := filepath.Join(dir, name+".tar.xz")
	if out, err := exec.Command("tar", "-cJf", tarball, "-C", src, name).CombinedOutput(); err != nil {
		t.Skipf("cannot make a .tar.xz here (tar with xz): %v: %s", err, out)
	}
	return tarball
}

func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestExtractedSrcOnceAndAtomically(t *testing.T) {
	ctx := context.Background()
	tarball := makeTarball(t, t.TempDir(), "linux-source-9.9", true)
	cache := filepath.Join(t.TempDir(), "src")
	got, err := extractedSrc(ctx, nil, tarball, cache)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(cache, "linux-source-9.9"); got != want || !hasSchedExt(got) {
		t.Fatalf("extracted to %s (sched_ext: %v), want %s", got, hasSchedExt(got), want)
	}
	if l := leftovers(t, cache); len(l) != 1 {
		t.Errorf("cache holds %v, want only the tree (no temp dirs)", l)
	}
	// Reused without the tarball: no second extraction.
	if err := os.Remove(tarball); err != nil {
		t.Fatal(err)
	}
	if again, err := extractedSrc(ctx, nil, tarball, cache); err != nil || again != got {
		t.Errorf("second call: %q, %v; want the cached %q", again, err, got)
	}
}

func TestExtractedSrcErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		tarball func(t *testing.T) string
		want    []string
	}{
		{"no tarball", func(t *testing.T) string { return filepath.Join(t.TempDir(), "linux-source-6.12.tar.xz") },
			[]string{"apt-get install linux-source-6.12", EnvKernelSrc}},
		{"source without sched_ext", func(t *testing.T) string { return makeTarball(t, t.TempDir(), "linux-source-6.1", false) },
			[]string{"predates sched_ext", EnvKernelSrc}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cache := filepath.Join(t.TempDir(), "src")
			_, err := extractedSrc(ctx, nil, tt.tarball(t), cache)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if l := leftovers(t, cache); len(l) != 0 {
				t.Errorf("a failed extraction left %v behind", l)
			}
		})
	}
}

func TestFindKernelSrcEnv(t *testing.T) {
	good := t.TempDir()
	if err := os.MkdirAll(filepath.Join(good, "tools/sched_ext"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(good, "tools/sched_ext/Makefile"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvKernelSrc, good)
	if got, err := FindKernelSrc(context.Background(), nil); err != nil || got != good {
		t.Errorf("FindKernelSrc = %q, %v; want %q", got, err, good)
	}
	t.Setenv(EnvKernelSrc, t.TempDir())
	if _, err := FindKernelSrc(context.Background(), nil); err == nil || !strings.Contains(err.Error(), EnvKernelSrc) {
		t.Errorf("a tree without tools/sched_ext: error %v, want one naming %s", err, EnvKernelSrc)
	}
}
