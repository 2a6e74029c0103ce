package kernel

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCacheStoreListLookup(t *testing.T) {
	c := openTestCache(t)
	t0 := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	old := storeFake(t, c, "6.12.1-tarball-x86_64-kcaaaaaaaa", meta("6.12.1", "aaaaaaaa", t0), true)
	storeFake(t, c, "6.12.2-tarball-x86_64-kcaaaaaaaa", meta("6.12.2", "aaaaaaaa", t0.Add(time.Hour)), false)

	entries, err := c.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Meta.Version != "6.12.2" || entries[1].Meta.Version != "6.12.1" {
		t.Fatalf("List not newest first: %+v", entries)
	}
	for _, e := range entries {
		if e.Corrupt != "" {
			t.Fatalf("fresh entry %s corrupt: %s", e.Key, e.Corrupt)
		}
	}
	b, err := os.ReadFile(old.Image)
	if err != nil || string(b) != "fake bzImage for 6.12.1-tarball-x86_64-kcaaaaaaaa" {
		t.Fatalf("image blob content %q, %v", b, err)
	}
	if st, err := os.Stat(old.Image); err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("blob mode %v, %v; want 0644 (QEMU may run as another user)", st.Mode(), err)
	}
	if !strings.HasPrefix(old.Image, filepath.Join(c.Root(), "blobs", "sha256")) {
		t.Fatalf("image %s not a blob path", old.Image)
	}
	if old.Vmlinux == "" || old.Config == "" || old.MetadataFile == "" {
		t.Fatalf("missing parts: %+v", old)
	}
	// Lookup by key and by digest.
	for _, s := range []string{old.Key, old.Digest} {
		e, err := c.Lookup(s)
		if err != nil || e.Digest != old.Digest {
			t.Fatalf("Lookup(%s) = %+v, %v", s, e, err)
		}
	}
	if _, err := c.Lookup("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Lookup(nope) err = %v, want ErrNotFound", err)
	}
	// Metadata round trip through annotations and metadata.json.
	if old.Meta.KconfigHash != "aaaaaaaa" || !old.Meta.BuiltAt.Equal(t0) || old.Meta.Source != SourceTarball {
		t.Fatalf("metadata %+v", old.Meta)
	}
	mj, _ := os.ReadFile(old.MetadataFile)
	if !strings.Contains(string(mj), `"key": "6.12.1-tarball-x86_64-kcaaaaaaaa"`) {
		t.Fatalf("metadata.json: %s", mj)
	}
}

func TestCacheStoreReplacesKeyAndCollectsGarbage(t *testing.T) {
	c := openTestCache(t)
	first := storeFake(t, c, "k1", meta("6.12.1", "aaaaaaaa", time.Now()), false)
	second := storeFake(t, c, "k1", meta("6.12.1", "bbbbbbbb", time.Now()), false)
	entries, _ := c.List()
	if len(entries) != 1 || entries[0].Digest != second.Digest {
		t.Fatalf("after replace: %+v", entries)
	}
	if first.Digest == second.Digest {
		t.Fatal("test needs distinct manifests")
	}
	h := strings.TrimPrefix(first.Digest, "sha256:")
	if _, err := os.Stat(filepath.Join(c.Root(), "blobs", "sha256", h)); !os.IsNotExist(err) {
		t.Fatalf("replaced manifest blob not collected: %v", err)
	}
}

func TestCacheCorruption(t *testing.T) {
	tests := []struct {
		name    string
		corrupt func(e *Entry)
		want    string
	}{
		{"missing blob", func(e *Entry) { os.Remove(e.Image) }, "bzImage blob missing"},
		{"wrong size", func(e *Entry) { os.WriteFile(e.Image, []byte("x"), 0o644) }, "bzImage blob size"},
		{"same size wrong digest", func(e *Entry) {
			b, _ := os.ReadFile(e.Image)
			b[0] ^= 0xff
			os.WriteFile(e.Image, b, 0o644)
		}, "bzImage blob digest mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := openTestCache(t)
			good := storeFake(t, c, "good", meta("6.12.1", KconfigHash(), time.Now().Add(-time.Hour)), false)
			bad := storeFake(t, c, "bad", meta("6.12.2", KconfigHash(), time.Now()), false)
			// Let the rewrite get a new mtime even on coarse clocks.
			time.Sleep(10 * time.Millisecond)
			tt.corrupt(bad)
			entries, err := c.List()
			if err != nil {
				t.Fatal(err)
			}
			var found bool
			for _, e := range entries {
				if e.Key == "bad" {
					found = true
					if !strings.Contains(e.Corrupt, tt.want) {
						t.Fatalf("Corrupt = %q, want %q", e.Corrupt, tt.want)
					}
				}
			}
			if !found {
				t.Fatal("corrupt entry not listed")
			}
			if _, err := c.Lookup("bad"); err == nil || !strings.Contains(err.Error(), "clean --corrupt-only") {
				t.Fatalf("Lookup(bad) = %v, want a corrupt-entry error", err)
			}
			// Resolution skips it and takes the older sound entry.
			t.Setenv(EnvKernel, "")
			k, err := Resolve(context.Background(), ResolveOptions{CacheDir: c.Root(), LocalTrees: []string{}, HostPaths: []string{}})
			if err != nil || k.Digest != good.Digest {
				t.Fatalf("Resolve = %+v, %v; want the sound entry", k, err)
			}
			gone, err := c.Clean(context.Background(), CleanOptions{CorruptOnly: true})
			if err != nil || len(gone) != 1 || gone[0].Key != "bad" {
				t.Fatalf("Clean(corruptOnly) = %+v, %v", gone, err)
			}
			if entries, _ := c.List(); len(entries) != 1 || entries[0].Key != "good" {
				t.Fatalf("after clean: %+v", entries)
			}
		})
	}
}

func TestCacheCleanKeep(t *testing.T) {
	c := openTestCache(t)
	base := time.Now()
	for i := range 4 {
		storeFake(t, c, fmt.Sprintf("k%d", i), meta("6.12.1", "aaaaaaaa", base.Add(time.Duration(i)*time.Minute)), false)
	}
	gone, err := c.Clean(context.Background(), CleanOptions{Keep: 1})
	if err != nil || len(gone) != 3 {
		t.Fatalf("Clean(keep 1) removed %d, %v", len(gone), err)
	}
	entries, _ := c.List()
	if len(entries) != 1 || entries[0].Key != "k3" {
		t.Fatalf("kept %+v, want the newest (k3)", entries)
	}
	if _, err := c.Clean(context.Background(), CleanOptions{}); err != nil {
		t.Fatal(err)
	}
	blobs, _ := os.ReadDir(filepath.Join(c.Root(), "blobs", "sha256"))
	// (TestPlanClean covers --older-than and the plan itself.)
	if len(blobs) != 0 {
		t.Fatalf("%d blobs left after removing everything", len(blobs))
	}
}

// A Store that fails half way (the second file is missing) must leave the
// index and the blob directory as they were.
func TestCacheStoreAtomic(t *testing.T) {
	c := openTestCache(t)
	storeFake(t, c, "keep", meta("6.12.1", "aaaaaaaa", time.Now()), false)
	before, _ := os.ReadFile(c.indexPath())
	blobsBefore, _ := os.ReadDir(c.blobDir())
	img := filepath.Join(t.TempDir(), "bzImage")
	os.WriteFile(img, []byte("img"), 0o644)
	_, err := c.Store(context.Background(), "broken", Files{Image: img, Vmlinux: "/nonexistent/vmlinux"}, meta("6.12.2", "aaaaaaaa", time.Now()))
	if err == nil {
		t.Fatal("Store with a missing file succeeded")
	}
	after, _ := os.ReadFile(c.indexPath())
	blobsAfter, _ := os.ReadDir(c.blobDir())
	if string(before) != string(after) || len(blobsBefore) != len(blobsAfter) {
		t.Fatalf("failed Store changed the cache: index equal %v, blobs %d -> %d", string(before) == string(after), len(blobsBefore), len(blobsAfter))
	}
	if _, err := c.Store(context.Background(), "bad/key", Files{Image: img}, Metadata{}); err == nil {
		t.Fatal("key with a slash accepted")
	}
}

func TestCacheConcurrentStores(t *testing.T) {
	c := openTestCache(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Separate Cache values, as separate processes would have.
			ci, err := OpenCache(c.Root(), nil)
			if err != nil {
				errs <- err
				return
			}
			img := filepath.Join(t.TempDir(), "bzImage")
			os.WriteFile(img, []byte(fmt.Sprintf("img %d", i)), 0o644)
			_, err = ci.Store(context.Background(), fmt.Sprintf("k%d", i), Files{Image: img}, meta("6.12.1", "aaaaaaaa", time.Now()))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	entries, _ := c.List()
	if len(entries) != 8 {
		t.Fatalf("%d entries after 8 concurrent stores", len(entries))
	}
	for _, e := range entries {
		if e.Corrupt != "" {
			t.Fatalf("%s corrupt: %s", e.Key, e.Corrupt)
		}
	}
}

func TestDefaultCacheDir(t *testing.T) {
	t.Setenv("KTSTR_CACHE_DIR", "/x/kernels")
	if d, _ := DefaultCacheDir(); d != "/x/kernels" {
		t.Fatalf("KTSTR_CACHE_DIR ignored: %s", d)
	}
	t.Setenv("KTSTR_CACHE_DIR", "")
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	if d, _ := DefaultCacheDir(); d != "/xdg/ktstr/kernels" {
		t.Fatalf("XDG_CACHE_HOME ignored: %s", d)
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/home/u")
	if d, _ := DefaultCacheDir(); d != "/home/u/.cache/ktstr/kernels" {
		t.Fatalf("home fallback: %s", d)
	}
}

func TestPlanClean(t *testing.T) {
	c := openTestCache(t)
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	for i, age := range []time.Duration{time.Hour, 24 * time.Hour, 10 * 24 * time.Hour, 40 * 24 * time.Hour} {
		storeFake(t, c, fmt.Sprintf("k%d", i), meta("6.12.1", "aaaaaaaa", now.Add(-age)), false)
	}
	keys := func(es []Entry) string {
		var k []string
		for _, e := range es {
			k = append(k, e.Key)
		}
		return strings.Join(k, " ")
	}
	tests := []struct {
		name         string
		opts         CleanOptions
		remove, keep string
	}{
		{"everything", CleanOptions{}, "k0 k1 k2 k3", ""},
		{"keep 1", CleanOptions{Keep: 1}, "k1 k2 k3", "k0"},
		{"corrupt only", CleanOptions{CorruptOnly: true, Keep: 0}, "", "k0 k1 k2 k3"},
		{"older than a week", CleanOptions{OlderThan: 7 * 24 * time.Hour}, "k2 k3", "k0 k1"},
		{"older than a day, keep 3", CleanOptions{OlderThan: 24*time.Hour - time.Minute, Keep: 3}, "k3", "k0 k1 k2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Now = now
			remove, keep, err := c.PlanClean(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if keys(remove) != tt.remove || keys(keep) != tt.keep {
				t.Errorf("remove [%s] keep [%s], want remove [%s] keep [%s]", keys(remove), keys(keep), tt.remove, tt.keep)
			}
		})
	}
	if entries, _ := c.List(); len(entries) != 4 {
		t.Fatalf("planning removed entries: %d left", len(entries))
	}
}
