package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/kernel"
)

// realCacheDir is the user's kernel cache, read before TestMain points
// KTSTR_CACHE_DIR at a scratch directory: only the tests that boot a VM
// from a built ktstr binary pass it on, and none of them cleans it.
var realCacheDir string

// TestMain keeps every in-process command off the user's caches: a test
// that forgets to set KTSTR_CACHE_DIR gets an empty scratch cache, never
// the real one (a `kernel clean` there would cost hours of builds).
func TestMain(m *testing.M) {
	realCacheDir, _ = kernel.DefaultCacheDir()
	scratch, err := os.MkdirTemp("", "ktstr-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("KTSTR_CACHE_DIR", filepath.Join(scratch, "kernels"))
	os.Setenv("XDG_CACHE_HOME", filepath.Join(scratch, "xdg"))
	os.Setenv("KTSTR_LOG", "warn")
	os.Unsetenv("KTSTR_KERNEL")
	code := m.Run()
	os.RemoveAll(scratch)
	if builtDir != "" {
		os.RemoveAll(builtDir)
	}
	os.Exit(code)
}

// cliResult is one in-process run of the ktstr command line.
type cliResult struct {
	code           int
	stdout, stderr string
}

// expect fails t unless stdout has each of out and stderr each of errs.
func (r cliResult) expect(t *testing.T, out, errs []string) {
	t.Helper()
	for _, w := range out {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
		}
	}
	for _, w := range errs {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
		}
	}
}

// cliOpts changes the streams a run sees.
type cliOpts struct {
	stdin       string
	interactive bool
	color       bool
}

// ktstrCLI runs the command line in-process, as `ktstr args...` would.
func ktstrCLI(t *testing.T, o cliOpts, args ...string) cliResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := &env{stdin: strings.NewReader(o.stdin), stdout: &stdout, stderr: &stderr, interactive: o.interactive, color: o.color}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := execute(ctx, e, args)
	return cliResult{code, stdout.String(), stderr.String()}
}

// scratchCache points KTSTR_CACHE_DIR at a new empty cache for t.
func scratchCache(t *testing.T) *kernel.Cache {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "kernels")
	t.Setenv("KTSTR_CACHE_DIR", dir)
	c, err := kernel.OpenCache(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// storeKernel puts a fake kernel (a valid bzImage header, version
// release) into c, built at builtAt.
func storeKernel(t *testing.T, c *kernel.Cache, key, release string, builtAt time.Time) kernel.Entry {
	t.Helper()
	img := fakeBzImage(t, release)
	e, err := c.Store(context.Background(), key, kernel.Files{Image: img},
		kernel.Metadata{Version: release, Source: kernel.SourceTarball, Arch: kernel.HostArch(), KconfigHash: kernel.KconfigHash(), BuiltAt: builtAt})
	if err != nil {
		t.Fatal(err)
	}
	return *e
}

// fakeBzImage writes a file with a bzImage's boot-protocol header.
func fakeBzImage(t *testing.T, release string) string {
	t.Helper()
	h := make([]byte, 0x1000)
	h[0x1fe], h[0x1ff] = 0x55, 0xaa
	copy(h[0x202:], "HdrS")
	h[0x20e], h[0x20f] = 0x00, 0x02 // the version string at 0x400
	copy(h[0x400:], release+" (test@test) #1 SMP\x00")
	p := filepath.Join(t.TempDir(), "bzImage")
	if err := os.WriteFile(p, h, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func cacheKeys(t *testing.T, c *kernel.Cache) []string {
	t.Helper()
	entries, err := c.List()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, e := range entries {
		keys = append(keys, e.Key)
	}
	return keys
}
