package kernel

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

const fakeMakefile = `VERSION = 6
PATCHLEVEL = 12
SUBLEVEL = 99
EXTRAVERSION =
O ?= .
tinyconfig:
	@printf 'CONFIG_64BIT=y\nCONFIG_NR_CPUS=2\n' > $(O)/.config
olddefconfig:
	@sed -i -e 's/^CONFIG_NR_CPUS=.*/CONFIG_NR_CPUS=2/' $(if $(FAKE_DROP),-e '/^$(FAKE_DROP)=/d') $(O)/.config
bzImage:
	@echo build >> $(FAKE_COUNTER)
	@echo "  CC      kernel/sched/ext.o"
	@sleep $(or $(FAKE_SLEEP),0)
	@mkdir -p $(O)/arch/x86/boot
	@echo "fake bzImage" > $(O)/arch/x86/boot/bzImage
	@cp $(FAKE_VMLINUX) $(O)/vmlinux
`

// merge_config.sh -m -O DIR BASE FRAGMENT: later lines win, as in kbuild.
const fakeMerge = `#!/bin/sh
set -e
awk -F= '{ k = $1; if (!(k in seen)) order[n++] = k; seen[k] = $0 } END { for (i = 0; i < n; i++) print seen[order[i]] }' "$4" "$5" > "$3/.config.merged"
mv "$3/.config.merged" "$4"
`

const fakeFragment = "CONFIG_SMP=y\nCONFIG_NR_CPUS=2\nCONFIG_SCHED_CLASS_EXT=y\n"

// fakeSource makes a tiny "kernel tree" whose Makefile emulates the
// targets Build runs, and a tarball of it. FAKE_* variables steer it.
func fakeSource(t *testing.T) (tree, tarball, counter string) {
	t.Helper()
	if runtime.GOARCH != "amd64" {
		t.Skip("Build supports x86_64 only")
	}
	for _, tool := range []string{"make", "tar", "awk", "sed"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	dir := t.TempDir()
	tree = filepath.Join(dir, "linux-fake")
	os.MkdirAll(filepath.Join(tree, "scripts/kconfig"), 0o755)
	os.WriteFile(filepath.Join(tree, "Makefile"), []byte(fakeMakefile), 0o644)
	os.WriteFile(filepath.Join(tree, "Kconfig"), []byte("# fake\n"), 0o644)
	os.WriteFile(filepath.Join(tree, "scripts/kconfig/merge_config.sh"), []byte(fakeMerge), 0o755)
	tarball = filepath.Join(dir, "linux-fake.tar")
	if out, err := exec.Command("tar", "-cf", tarball, "-C", dir, "linux-fake").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, out)
	}
	counter = filepath.Join(dir, "make-count")
	t.Setenv("FAKE_COUNTER", counter)
	t.Setenv("FAKE_VMLINUX", fakeVmlinux(t))
	t.Setenv("FAKE_DROP", "")
	t.Setenv("FAKE_SLEEP", "0")
	return tree, tarball, counter
}

func builds(counter string) int {
	b, _ := os.ReadFile(counter)
	return strings.Count(string(b), "build")
}

func TestBuildFakeTarballAndReuse(t *testing.T) {
	_, tarball, counter := fakeSource(t)
	cacheDir, work := t.TempDir(), t.TempDir()
	var status strings.Builder
	opts := BuildOptions{Source: tarball, CacheDir: cacheDir, WorkDir: work, Jobs: 1, kconfig: fakeFragment, Status: &status}
	k, err := Build(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	wantKey := "6.12.99-tarball-x86_64-kc" + kconfigHashOf(fakeFragment)
	if k.Key != wantKey || k.Meta.Version != "6.12.99" || k.Meta.Source != SourceTarball || k.Meta.KconfigHash != kconfigHashOf(fakeFragment) {
		t.Fatalf("kernel %+v meta %+v", k, k.Meta)
	}
	if b, _ := os.ReadFile(k.Image); string(b) != "fake bzImage\n" {
		t.Fatalf("image content %q", b)
	}
	cfg, _ := os.ReadFile(k.Config)
	if m := missingOptions(fakeFragment, string(cfg)); len(m) != 0 {
		t.Fatalf("stored config misses %v", m)
	}
	if k.Meta.Toolchain["make"] == "" {
		t.Errorf("toolchain not recorded: %v", k.Meta.Toolchain)
	}
	if !strings.Contains(status.String(), "make bzImage") {
		t.Errorf("no status line written: %q", status.String())
	}
	if left, _ := os.ReadDir(work); len(left) != 0 {
		t.Fatalf("build left %d entries in the work dir", len(left))
	}
	// Second build of the same source: served from the cache, no make.
	k2, err := Build(context.Background(), opts)
	if err != nil || k2.Digest != k.Digest || k2.Source != "cache" {
		t.Fatalf("rebuild: %+v, %v", k2, err)
	}
	if n := builds(counter); n != 1 {
		t.Fatalf("make bzImage ran %d times, want 1", n)
	}
	// Resolves by version.
	t.Setenv(EnvKernel, "")
	o := noFallback(cacheDir)
	o.Spec = k.Key
	if r, err := Resolve(context.Background(), o); err != nil || r.Image != k.Image {
		t.Fatalf("Resolve(%s) = %+v, %v", k.Key, r, err)
	}
}

func TestBuildLocalTreeAlwaysBuilds(t *testing.T) {
	tree, _, counter := fakeSource(t)
	opts := BuildOptions{Source: tree, CacheDir: t.TempDir(), WorkDir: t.TempDir(), kconfig: fakeFragment}
	for range 2 {
		k, err := Build(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(k.Key, "local-") || k.Meta.Source != SourceLocal {
			t.Fatalf("local key %q source %q", k.Key, k.Meta.Source)
		}
	}
	if n := builds(counter); n != 2 {
		t.Fatalf("local tree built %d times, want 2", n)
	}
	// An in-tree configured source cannot be built out of tree.
	os.WriteFile(filepath.Join(tree, ".config"), []byte("x"), 0o644)
	if _, err := Build(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "make mrproper") {
		t.Fatalf("dirty tree: %v", err)
	}
}

func TestBuildReportsEveryDroppedOption(t *testing.T) {
	_, tarball, _ := fakeSource(t)
	// The fake olddefconfig deletes lines matching this (GNU sed) regex.
	t.Setenv("FAKE_DROP", `CONFIG_\(SMP\|SCHED_CLASS_EXT\)`)
	cacheDir := t.TempDir()
	_, err := Build(context.Background(), BuildOptions{Source: tarball, CacheDir: cacheDir, WorkDir: t.TempDir(), kconfig: fakeFragment})
	if err == nil {
		t.Fatal("build with dropped options succeeded")
	}
	for _, w := range []string{"lost 2 option(s)", "CONFIG_SCHED_CLASS_EXT=y (config has it unset)", "CONFIG_SMP=y (config has it unset)"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q: %v", w, err)
		}
	}
	c, _ := OpenCache(cacheDir, nil)
	if entries, _ := c.List(); len(entries) != 0 {
		t.Fatalf("failed build left %d cache entries", len(entries))
	}
}

func TestBuildCancelLeavesNothing(t *testing.T) {
	_, tarball, counter := fakeSource(t)
	t.Setenv("FAKE_SLEEP", "60")
	cacheDir, work := t.TempDir(), t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Cancel once make bzImage is running.
		for builds(counter) == 0 {
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
	}()
	start := time.Now()
	_, err := Build(ctx, BuildOptions{Source: tarball, CacheDir: cacheDir, WorkDir: work, kconfig: fakeFragment})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// The sleep in make's child must die with make: otherwise Run would
	// wait out the 60 s (or WaitDelay).
	if d := time.Since(start); d > 8*time.Second {
		t.Fatalf("cancel took %v: make's children survived", d)
	}
	if left, _ := os.ReadDir(work); len(left) != 0 {
		t.Fatalf("cancelled build left %v", left)
	}
	c, _ := OpenCache(cacheDir, nil)
	if entries, _ := c.List(); len(entries) != 0 {
		t.Fatal("cancelled build left a cache entry")
	}
	tmp, _ := filepath.Glob(filepath.Join(cacheDir, "blobs/sha256/.tmp-*"))
	if len(tmp) != 0 {
		t.Fatalf("staging files left: %v", tmp)
	}
}

func TestBuildConcurrentBuildersBuildOnce(t *testing.T) {
	_, tarball, counter := fakeSource(t)
	t.Setenv("FAKE_SLEEP", "1")
	cacheDir := t.TempDir()
	var wg sync.WaitGroup
	digests := make([]string, 3)
	errs := make([]error, 3)
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := Build(context.Background(), BuildOptions{Source: tarball, CacheDir: cacheDir, WorkDir: t.TempDir(), kconfig: fakeFragment})
			errs[i] = err
			if err == nil {
				digests[i] = k.Digest
			}
		}()
	}
	wg.Wait()
	for i := range 3 {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if digests[i] != digests[0] {
			t.Fatalf("builders got different kernels: %v", digests)
		}
	}
	if n := builds(counter); n != 1 {
		t.Fatalf("make bzImage ran %d times for one key, want 1", n)
	}
}

func TestParseSource(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Kconfig"), nil, 0o644)
	tb := filepath.Join(dir, "linux-6.12.1.tar.xz")
	os.WriteFile(tb, nil, 0o644)
	notTar := filepath.Join(dir, "foo.zip")
	os.WriteFile(notTar, nil, 0o644)
	sum := strings.Repeat("a", 64)
	tests := []struct {
		in, sum string
		kind    SourceKind
		err     string
	}{
		{dir, "", SourceLocal, ""},
		{tb, "", SourceTarball, ""},
		{"https://example.org/linux-6.12.1.tar.xz#sha256=" + sum, "", SourceTarball, ""},
		{"https://example.org/linux-6.12.1.tar.xz", sum, SourceTarball, ""},
		{"https://example.org/linux-6.12.1.tar.xz", "", "", "needs its SHA-256"},
		{"git+https://example.org/linux.git#v6.12", "", SourceGit, ""},
		{"git+https://example.org/linux.git", "", "", "git+URL#REF"},
		{notTar, "", "", "neither a directory nor a tarball"},
		{t.TempDir(), "", "", "not a kernel tree"},
		{"/nonexistent/src", "", "", "no such file"},
		{"6.12.117", "", "", "is a version, not a source: ktstr builds from a source tree, a tarball, https://cdn.kernel.org/pub/linux/kernel/v6.x/linux-6.12.117.tar.xz#sha256=HEX or git+https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux.git#v6.12.117"},
	}
	for _, tt := range tests {
		s, err := parseSource(tt.in, tt.sum)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseSource(%q) err = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || s.kind != tt.kind {
			t.Errorf("parseSource(%q) = %+v, %v", tt.in, s, err)
		}
	}
}

func TestGitSourceIdentifyAndMaterialize(t *testing.T) {
	tree, _, _ := fakeSource(t)
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	run := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-C", tree}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("init", "-q", "-b", "main")
	run("add", ".")
	run("commit", "-q", "-m", "fake")
	run("tag", "v6.12.99")
	commit := run("rev-parse", "HEAD")
	s, err := parseSource("git+file://"+tree+"#v6.12.99", "")
	if err != nil {
		t.Fatal(err)
	}
	c := openTestCache(t)
	_, key, err := s.identify(context.Background(), c, t.TempDir(), "x86_64", func(string) string { return "12345678" })
	if err != nil {
		t.Fatal(err)
	}
	if want := "v6.12.99-git-" + commit[:12] + "-x86_64-kc12345678"; key != want {
		t.Fatalf("key %q, want %q", key, want)
	}
	work := t.TempDir()
	src, err := s.materialize(context.Background(), work)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := makefileVersion(src); err != nil || v != "6.12.99" {
		t.Fatalf("cloned tree version %q, %v", v, err)
	}
	bad, _ := parseSource("git+file://"+tree+"#no-such-ref", "")
	if _, _, err := bad.identify(context.Background(), c, t.TempDir(), "x86_64", func(string) string { return "12345678" }); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("missing ref: %v", err)
	}
}
