package main

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/ktstr-go/ktstr/kernel"
)

// TestKernelPullOutDir pushes a cached kernel to an in-process registry,
// then pulls it by digest into an empty cache with --out-dir, as
// ktstr_kernel_image does: DIR gets the artifact's files under their
// artifact names.
func TestKernelPullOutDir(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	t.Setenv("KTSTR_LOG", "error")

	src := t.TempDir()
	img := filepath.Join(src, "bzImage")
	cfg := filepath.Join(src, "config")
	os.WriteFile(img, []byte("image bytes"), 0o644) // cache entries are not magic-checked
	os.WriteFile(cfg, []byte("CONFIG_SCHED_CLASS_EXT=y\n"), 0o644)
	push, err := kernel.OpenCache(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	key := "6.12.117-tarball-x86_64-kc" + kernel.KconfigHash()
	if _, err := push.Store(context.Background(), key, kernel.Files{Image: img, Config: cfg},
		kernel.Metadata{Version: "6.12.117", Source: kernel.SourceTarball, Arch: "x86_64", KconfigHash: kernel.KconfigHash(), BuiltAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	repo := strings.TrimPrefix(srv.URL, "http://") + "/k"
	digest, err := push.Push(context.Background(), key, repo+":t", true)
	if err != nil {
		t.Fatal(err)
	}

	t.Setenv("KTSTR_CACHE_DIR", t.TempDir())
	dir := filepath.Join(t.TempDir(), "out")
	r := ktstrCLI(t, cliOpts{}, "kernel", "pull", "--insecure", "--out-dir", dir, repo+"@"+digest)
	if r.code != 0 {
		t.Fatalf("pull --out-dir exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	for name, want := range map[string]string{kernel.FileImage: "image bytes", kernel.FileConfig: "CONFIG_SCHED_CLASS_EXT=y\n"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(b) != want {
			t.Errorf("%s in --out-dir: %q, %v; want %q", name, b, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, kernel.FileMetadata)); err != nil {
		t.Errorf("--out-dir lacks %s: %v", kernel.FileMetadata, err)
	}
	if _, err := os.Stat(filepath.Join(dir, kernel.FileVmlinux)); err == nil {
		t.Errorf("--out-dir has a %s the artifact does not carry", kernel.FileVmlinux)
	}
}
