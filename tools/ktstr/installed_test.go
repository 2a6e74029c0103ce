package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/kernel"
)

// The ktstr binary as `go install` makes it (static, -trimpath), run
// from a directory outside any source tree: what a user who installed
// it has.

var (
	builtOnce sync.Once
	builtDir  string
	builtBin  string
	builtErr  error
)

// installedKtstr builds the command once per test binary (TestMain
// removes it) and gives each caller its own copy in its own directory.
func installedKtstr(t *testing.T) string {
	t.Helper()
	builtOnce.Do(func() {
		builtDir, builtErr = os.MkdirTemp("", "ktstr-installed-")
		if builtErr != nil {
			return
		}
		builtBin = filepath.Join(builtDir, "ktstr")
		cmd := exec.Command("go", "build", "-trimpath", "-o", builtBin, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			builtErr = errors.New("go build: " + err.Error() + "\n" + string(out))
		}
	})
	if builtErr != nil {
		t.Fatal(builtErr)
	}
	bin := filepath.Join(t.TempDir(), "bin", "ktstr")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := copyFile(builtBin, bin); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// outside is a working directory outside the source tree, with an
// environment that names no source tree either.
type outside struct {
	dir string
	env []string
}

func newOutside(t *testing.T, cacheDir string) outside {
	t.Helper()
	o := outside{dir: t.TempDir()}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "KTSTR_SRC", "KTSTR_TEST_BINARY", "KTSTR_KERNEL", "KTSTR_CACHE_DIR", "XDG_CACHE_HOME", "KTSTR_SCHED_CACHE", "KTSTR_INITRAMFS_CACHE":
			continue
		}
		o.env = append(o.env, kv)
	}
	o.env = append(o.env, "KTSTR_CACHE_DIR="+cacheDir, "KTSTR_SCHED_CACHE="+filepath.Join(o.dir, ".scheds"),
		"KTSTR_INITRAMFS_CACHE="+filepath.Join(o.dir, ".initramfs"), "XDG_CACHE_HOME="+filepath.Join(o.dir, ".cache"))
	return o
}

// run runs bin in o with args and returns its exit code and output.
func (o outside) run(t *testing.T, timeout time.Duration, bin string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir, cmd.Env = o.dir, o.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var xe *exec.ExitError
	switch {
	case errors.As(err, &xe):
		return xe.ExitCode(), stdout.String(), stderr.String()
	case err != nil:
		t.Fatalf("ktstr %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return 0, stdout.String(), stderr.String()
}

// Without a VM: the installed binary lists, describes and exports from
// anywhere, and is the scheduler loader itself.
func TestInstalledBinaryOutsideTheTree(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the ktstr binary")
	}
	bin := installedKtstr(t)
	o := newOutside(t, filepath.Join(t.TempDir(), "kernels"))
	for _, tc := range []struct {
		args []string
		out  string
	}{
		{[]string{"kernel", "list", "--json"}, "[]"},
		{[]string{"run", "--list"}, "demo "},
		{[]string{"export", "--list"}, "fifo_two_llcs\n"},
		{[]string{"version"}, "ktstr "},
	} {
		code, stdout, stderr := o.run(t, time.Minute, bin, tc.args...)
		if code != 0 || !strings.Contains(stdout, tc.out) {
			t.Errorf("ktstr %s in %s: exit %d, stdout %q, stderr %q", strings.Join(tc.args, " "), o.dir, code, stdout, stderr)
		}
	}
	// An EEVDF test exports with no kernel and no source tree: the .run
	// file packs this very binary.
	code, _, stderr := o.run(t, time.Minute, bin, "export", "demo_eevdf", "-o", "demo_eevdf.run")
	if code != 0 {
		t.Fatalf("export demo_eevdf: exit %d: %s", code, stderr)
	}
	if st, err := os.Stat(filepath.Join(o.dir, "demo_eevdf.run")); err != nil || st.Size() < 1<<20 {
		t.Errorf("demo_eevdf.run: %v, %v (want the packed binary in it)", st, err)
	}
	// Invoked as scxload, the binary is the loader.
	loader := filepath.Join(filepath.Dir(bin), scxloadName)
	if err := os.Link(bin, loader); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := o.run(t, time.Minute, loader); code != 2 || !strings.Contains(stderr, "usage: scxload -obj FILE.bpf.o") {
		t.Errorf("ktstr as scxload: exit %d, stderr %q", code, stderr)
	}
}

// With the cached default kernel (its vmlinux, read only): the installed
// binary builds the in-repo schedulers and exports a test that uses one,
// outside the source tree.
func TestInstalledBinaryBuildsSchedulers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the ktstr binary and the BPF schedulers")
	}
	if _, err := exec.LookPath("clang-19"); err != nil {
		t.Skip("clang-19 not installed (tools/setup/install-deps.sh)")
	}
	requireCachedKernel(t)
	bin := installedKtstr(t)
	o := newOutside(t, realCacheDir)
	code, stdout, stderr := o.run(t, 10*time.Minute, bin, "sched", "build", "--no-tree")
	if code != 0 {
		t.Fatalf("sched build: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "loader  "+bin+"\n") || !strings.Contains(stdout, "fifo.bpf.o") {
		t.Errorf("sched build: the loader is not the binary itself, or fifo is missing:\n%s", stdout)
	}
	code, _, stderr = o.run(t, 10*time.Minute, bin, "export", "fifo_two_llcs")
	if code != 0 {
		t.Fatalf("export fifo_two_llcs: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(o.dir, "fifo_two_llcs.run")); err != nil {
		t.Error(err)
	}
}

// requireCachedKernel skips (or, with KTSTR_REQUIRE_KERNEL or CI set,
// fails) a test that needs the user's cached default kernel.
func requireCachedKernel(t *testing.T) {
	t.Helper()
	_, err := kernel.Resolve(context.Background(), kernel.ResolveOptions{CacheDir: realCacheDir, LocalTrees: []string{}, HostPaths: []string{}})
	switch {
	case err == nil:
	case kernel.Required():
		t.Fatalf("needs a cached kernel in %s: %v", realCacheDir, err)
	default:
		t.Skipf("needs a cached kernel in %s: %v", realCacheDir, err)
	}
}
