package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/kernel"
)

// captureStdout runs fn with os.Stdout redirected and returns what it wrote.
func captureStdout(t *testing.T, fn func() int) (string, int) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan []byte)
	go func() { b, _ := io.ReadAll(r); done <- b }()
	code := fn()
	w.Close()
	os.Stdout = old
	return string(<-done), code
}

func TestKernelListJSONAndExport(t *testing.T) {
	cacheDir := t.TempDir()
	t.Setenv("KTSTR_CACHE_DIR", cacheDir)
	t.Setenv("KTSTR_LOG", "error")
	c, err := kernel.OpenCache(cacheDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	img := filepath.Join(src, "bzImage")
	os.WriteFile(img, []byte("image"), 0o644)
	key := "6.12.117-tarball-x86_64-kc" + kernel.KconfigHash()
	e, err := c.Store(context.Background(), key, kernel.Files{Image: img},
		kernel.Metadata{Version: "6.12.117", Source: kernel.SourceTarball, Arch: "x86_64", KconfigHash: kernel.KconfigHash(), BuiltAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}

	out, code := captureStdout(t, func() int { return runKernel(context.Background(), []string{"list", "--json"}) })
	if code != 0 {
		t.Fatalf("list exit %d", code)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("list --json output %q: %v", out, err)
	}
	if len(got) != 1 {
		t.Fatalf("list --json: %v", got)
	}
	for _, f := range []string{"key", "version", "source", "built_at", "size", "kconfig_status", "corrupt"} {
		if _, ok := got[0][f]; !ok {
			t.Errorf("list --json lacks %q: %v", f, got[0])
		}
	}
	if got[0]["key"] != key || got[0]["kconfig_status"] != "matches" || got[0]["corrupt"] != false {
		t.Fatalf("list --json entry %v", got[0])
	}

	out, code = captureStdout(t, func() int { return runKernel(context.Background(), []string{"path", key}) })
	if code != 0 || out != e.Image+"\n" {
		t.Fatalf("path: %q exit %d, want %s", out, code, e.Image)
	}

	dir := filepath.Join(t.TempDir(), "out")
	k := &kernel.Kernel{Image: e.Image, MetadataFile: e.MetadataFile}
	if err := exportKernel(k, dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{kernel.FileImage, kernel.FileMetadata} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("--out-dir lacks %s: %v", f, err)
		}
	}
	// Exporting again (a Bazel rerun) replaces the files.
	if err := exportKernel(k, dir); err != nil {
		t.Fatalf("second export: %v", err)
	}

	if code := runKernel(context.Background(), []string{"clean", "--keep", "1"}); code != 0 {
		t.Fatalf("clean --keep 1 exit %d", code)
	}
	if entries, _ := c.List(); len(entries) != 1 {
		t.Fatalf("clean --keep 1 removed the only entry")
	}
	if code := runKernel(context.Background(), []string{"clean"}); code != 0 {
		t.Fatalf("clean exit %d", code)
	}
	if entries, _ := c.List(); len(entries) != 0 {
		t.Fatalf("clean left %d entries", len(entries))
	}
	if code := runKernel(context.Background(), []string{"bogus"}); code != 2 {
		t.Fatalf("unknown subcommand exit %d, want 2", code)
	}
}
