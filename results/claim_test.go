package results

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Runs that start together with one name each get their own directory,
// even when they claim at the same moment.
func TestClaimUnique(t *testing.T) {
	root := filepath.Join(t.TempDir(), "runs")
	const n = 16
	dirs := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			d, err := Claim(root, "20261203T093012Z-demo")
			if err != nil {
				t.Error(err)
			}
			dirs[i] = d
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, d := range dirs {
		if seen[d] {
			t.Fatalf("%s claimed twice", d)
		}
		seen[d] = true
		if entries, err := os.ReadDir(d); err != nil || len(entries) != 0 {
			t.Errorf("%s: %d entries, %v; want a new empty directory", d, len(entries), err)
		}
	}
	if !seen[filepath.Join(root, "20261203T093012Z-demo")] || !seen[filepath.Join(root, "20261203T093012Z-demo-16")] {
		t.Errorf("claimed %v; want the name itself and -2 to -16", dirs)
	}
}

// A claimed directory is where Write puts the run, and the first run
// there stays as it was.
func TestClaimThenWrite(t *testing.T) {
	root := t.TempDir()
	r := synthRun(t, fixture{})
	r.ID = NewID(r.Test, r.Started)
	first, err := Claim(root, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(first, r); err != nil {
		t.Fatal(err)
	}
	second, err := Claim(root, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if second == first {
		t.Fatalf("second claim returned the written directory %s", first)
	}
	if _, err := os.Stat(filepath.Join(first, FileResult)); err != nil {
		t.Errorf("first run's %s: %v", FileResult, err)
	}
}

func TestClaimErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Claim(file, "x"); err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("root is a file: %v; want an error naming it", err)
	}
	for _, id := range []string{"", "..", "a/b"} {
		if _, err := Claim(t.TempDir(), id); err == nil {
			t.Errorf("Claim(%q) succeeded; want an error", id)
		}
	}
}

// When every suffix of a name is taken, the error names the command that
// frees them, and nothing new is created.
func TestClaimExhausted(t *testing.T) {
	root := t.TempDir()
	for range maxClaimTries {
		if _, err := Claim(root, "r"); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Claim(root, "r")
	if err == nil || !strings.Contains(err.Error(), "ktstr stats prune --root "+root) {
		t.Fatalf("claim %d: %v; want an error naming ktstr stats prune --root %s", maxClaimTries+1, err, root)
	}
	if entries, _ := os.ReadDir(root); len(entries) != maxClaimTries {
		t.Errorf("%d entries after the refused claim; want %d", len(entries), maxClaimTries)
	}
}
