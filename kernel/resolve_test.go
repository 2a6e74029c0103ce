package kernel

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// noFallback keeps the host's trees and /boot out of resolution tests.
func noFallback(dir string) ResolveOptions {
	return ResolveOptions{CacheDir: dir, LocalTrees: []string{}, HostPaths: []string{}}
}

func TestEnvSpecTrimming(t *testing.T) {
	tests := []struct{ env, want string }{
		{"", ""}, {"   \t\n  ", ""}, {"  ../linux  ", "../linux"}, {"/abs/path", "/abs/path"},
	}
	for _, tt := range tests {
		t.Setenv(EnvKernel, tt.env)
		if got := EnvSpec(); got != tt.want {
			t.Errorf("KTSTR_KERNEL=%q: EnvSpec() = %q, want %q", tt.env, got, tt.want)
		}
	}
	os.Unsetenv(EnvKernel)
	if got := EnvSpec(); got != "" {
		t.Errorf("unset KTSTR_KERNEL: EnvSpec() = %q", got)
	}
}

func TestResolveNotFound(t *testing.T) {
	t.Setenv(EnvKernel, "   ")
	c := openTestCache(t)
	_, err := Resolve(context.Background(), noFallback(c.Root()))
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), "ktstr kernel build") || !strings.Contains(err.Error(), "KTSTR_KERNEL") {
		t.Fatalf("error lacks the hint: %v", err)
	}
}

// Untracked entries (no recorded kconfig hash) are kept.
func TestResolvePreservesUntrackedCacheEntries(t *testing.T) {
	t.Setenv(EnvKernel, "")
	c := openTestCache(t)
	e := storeFake(t, c, "untracked-entry", meta("6.14.2", "", time.Date(2026, 4, 12, 10, 0, 0, 0, time.UTC)), false)
	if e.Meta.KconfigStatus(KconfigHash()) != KconfigUntracked {
		t.Fatal("fixture must be untracked")
	}
	k, err := Resolve(context.Background(), noFallback(c.Root()))
	if err != nil || k.Image != e.Image || k.Source != "cache" {
		t.Fatalf("Resolve = %+v, %v; want the untracked entry", k, err)
	}
}

// A newer stale entry is skipped for an older one that matches.
func TestResolveSkipsStaleCacheEntry(t *testing.T) {
	t.Setenv(EnvKernel, "")
	c := openTestCache(t)
	cur := storeFake(t, c, "current-entry", meta("6.14.2", KconfigHash(), time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)), false)
	storeFake(t, c, "stale-entry", meta("6.14.3", KconfigHash()+"-stale", time.Date(2026, 4, 20, 0, 0, 0, 0, time.UTC)), false)
	k, err := Resolve(context.Background(), noFallback(c.Root()))
	if err != nil || k.Image != cur.Image {
		t.Fatalf("Resolve = %+v, %v; want the current-hash entry", k, err)
	}
}

func TestResolveSkipsUnusableVmlinux(t *testing.T) {
	t.Setenv(EnvKernel, "")
	c := openTestCache(t)
	good := storeFake(t, c, "good", meta("6.12.1", KconfigHash(), time.Now().Add(-time.Hour)), true)
	dir := t.TempDir()
	img, notELF := filepath.Join(dir, "bzImage"), filepath.Join(dir, "vmlinux")
	os.WriteFile(img, []byte("img"), 0o644)
	os.WriteFile(notELF, []byte("not an ELF"), 0o644)
	if _, err := c.Store(context.Background(), "bad-vmlinux", Files{Image: img, Vmlinux: notELF}, meta("6.12.2", KconfigHash(), time.Now())); err != nil {
		t.Fatal(err)
	}
	k, err := Resolve(context.Background(), noFallback(c.Root()))
	if err != nil || k.Digest != good.Digest || k.Vmlinux == "" {
		t.Fatalf("Resolve = %+v, %v; want the entry with a usable vmlinux", k, err)
	}
}

func TestResolveSpec(t *testing.T) {
	c := openTestCache(t)
	now := time.Now()
	tarKey := "6.12.117-tarball-" + HostArch() + "-kc" + KconfigHash()
	tar := storeFake(t, c, tarKey, meta("6.12.117", KconfigHash(), now.Add(-2*time.Hour)), false)
	other := storeFake(t, c, "6.13.1-git-abc-x86_64-kc"+KconfigHash(), meta("6.13.1", KconfigHash(), now.Add(-time.Hour)), false)
	newest := storeFake(t, c, "newest", meta("6.15.0", KconfigHash(), now), false)
	storeFake(t, c, "older-patch-built-later", meta("6.12.9", KconfigHash(), now.Add(-time.Minute)), false)
	storeFake(t, c, "same-release-other-kconfig-built-later", meta("6.12.117", "0ther", now.Add(-time.Minute)), false)

	tree := t.TempDir()
	writeBzImage(t, filepath.Join(tree, "arch/x86/boot/bzImage"), "6.14.0 (u@h) #1 SMP")
	copyFixture(t, fakeVmlinux(t), filepath.Join(tree, "vmlinux"))
	vmlinuxFile := filepath.Join(tree, "vmlinux")
	passwd := filepath.Join(t.TempDir(), "passwd")
	os.WriteFile(passwd, []byte("root:x:0:0:root:/root:/bin/bash\n"), 0o644)

	tests := []struct {
		name, env string
		want      string // image path; "" means expect an error
		errs      []string
		notFound  bool
	}{
		{"no env takes newest", "", newest.Image, nil, false},
		{"version", "6.12.117", tar.Image, nil, false},
		{"version from metadata", "6.13.1", other.Image, nil, false},
		// A prefix takes the highest cached patch release, not the newest
		// build; of one release, the build with the current kconfig.
		{"version prefix", "6.12", tar.Image, nil, false},
		{"version prefix is per component", "6.1", "", []string{"no such version in the cache"}, true},
		{"cache key", "  " + other.Key + " ", other.Image, nil, false},
		{"digest", tar.Digest, tar.Image, nil, false},
		{"path dir", tree, filepath.Join(tree, "arch/x86/boot/bzImage"), nil, false},
		{"path file", filepath.Join(tree, "arch/x86/boot/bzImage"), filepath.Join(tree, "arch/x86/boot/bzImage"), nil, false},
		{"path without image", t.TempDir(), "", []string{"no built kernel image at arch/x86/boot/bzImage", "make bzImage"}, false},
		{"path not a kernel", passwd, "", []string{"KTSTR_KERNEL=" + passwd + ": not a kernel image", "pass a bzImage"}, false},
		{"path is a vmlinux", vmlinuxFile, "", []string{"an ELF file (a vmlinux?)"}, false},
		{"path missing", "/nonexistent/bzImage", "", []string{"no such file", "pass a bzImage or a kernel build tree"}, false},
		// A version or key that misses must not fall back to other cache
		// entries: booting a different kernel would be a surprise.
		{"version miss", "6.1.1", "", []string{"KTSTR_KERNEL=6.1.1: no such version in the cache", "ktstr kernel list"}, true},
		{"key miss", "no-such-key", "", []string{"KTSTR_KERNEL=no-such-key is not in the kernel cache", "ktstr kernel list"}, true},
		{"inverted range", "6.16..6.12", "", []string{"inverted kernel range", "6.12..6.16"}, false},
		{"range", "6.12..6.16", "", []string{"a range names several kernels"}, false},
		{"git", "git+https://example.org/linux.git#v6.12", "", []string{"must be built first", "ktstr kernel build --source"}, false},
		{"git without ref", "git+https://example.org/linux.git", "", []string{"no ref"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvKernel, tt.env)
			k, err := Resolve(context.Background(), noFallback(c.Root()))
			if tt.want != "" {
				if err != nil || k.Image != tt.want {
					t.Fatalf("Resolve = %+v, %v; want image %s", k, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Resolve = %+v, want an error", k)
			}
			for _, w := range tt.errs {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if errors.Is(err, ErrNotFound) != tt.notFound {
				t.Errorf("errors.Is(ErrNotFound) = %v, want %v (%v)", !tt.notFound, tt.notFound, err)
			}
			if tt.name == "inverted range" && strings.Contains(err.Error(), "several kernels") {
				t.Errorf("validate must run before the generic redirect: %v", err)
			}
			var se *SpecError
			if errors.As(err, &se) == tt.notFound {
				t.Errorf("errors.As(*SpecError) = %v, want %v: a miss is no usage error, a bad spec is (%v)", !tt.notFound, tt.notFound, err)
			}
			if got := strings.Count(err.Error(), tt.env); got > 1 {
				t.Errorf("error names %q %d times: %v", tt.env, got, err)
			}
		})
	}
	// Spec wins over the environment.
	t.Setenv(EnvKernel, "6.12.117")
	o := noFallback(c.Root())
	o.Spec = other.Key
	if k, err := Resolve(context.Background(), o); err != nil || k.Image != other.Image {
		t.Fatalf("Spec ignored: %+v, %v", k, err)
	}
}

func TestResolveFallbacks(t *testing.T) {
	t.Setenv(EnvKernel, "")
	c := openTestCache(t)
	tree := t.TempDir()
	writeBzImage(t, filepath.Join(tree, "arch/x86/boot/bzImage"), "6.14.0 (u@h) #1 SMP")
	host := filepath.Join(t.TempDir(), "vmlinuz")
	writeBzImage(t, host, "6.1.0-host (u@h) #1 SMP")
	notKernel := filepath.Join(t.TempDir(), "vmlinuz")
	os.WriteFile(notKernel, []byte("not a kernel"), 0o644)

	o := ResolveOptions{CacheDir: c.Root(), LocalTrees: []string{"/nonexistent", tree}, HostPaths: []string{host}}
	k, err := Resolve(context.Background(), o)
	if err != nil || k.Source != "local tree" || k.Image != filepath.Join(tree, "arch/x86/boot/bzImage") {
		t.Fatalf("local tree: %+v, %v", k, err)
	}
	o.LocalTrees = []string{t.TempDir()} // a dir without an image
	o.HostPaths = []string{notKernel, host}
	k, err = Resolve(context.Background(), o)
	if err != nil || k.Source != "host" || k.Image != host {
		t.Fatalf("host path: %+v, %v", k, err)
	}
	// The cache comes before both.
	e := storeFake(t, c, "cached", meta("6.12.1", KconfigHash(), time.Now()), false)
	k, err = Resolve(context.Background(), o)
	if err != nil || k.Image != e.Image {
		t.Fatalf("cache first: %+v, %v", k, err)
	}
}

// A kernel that predates some fragment options (6.1: no sched_ext) is
// never the default, even when newest, but is found by its version, with
// its omissions kept in the metadata and counted as matching.
func TestResolveOlderKernelOnlyByName(t *testing.T) {
	t.Setenv(EnvKernel, "")
	c := openTestCache(t)
	cur := storeFake(t, c, "6.12.118-tarball-x86_64-kc"+KconfigHash(), meta("6.12.118", KconfigHash(), time.Now().Add(-time.Hour)), false)
	m := meta("6.1.192", KconfigHashFor("6.1.192"), time.Now())
	m.KconfigOmitted = []string{"CONFIG_SCHED_CLASS_EXT", "CONFIG_EXT_GROUP_SCHED"}
	old := storeFake(t, c, "6.1.192-tarball-x86_64-kc"+KconfigHashFor("6.1.192"), m, false)
	k, err := Resolve(context.Background(), noFallback(c.Root()))
	if err != nil || k.Image != cur.Image {
		t.Fatalf("default resolution = %+v, %v; want 6.12.118", k, err)
	}
	o := noFallback(c.Root())
	o.Spec = "6.1.192"
	k, err = Resolve(context.Background(), o)
	if err != nil || k.Image != old.Image || k.Key != old.Key {
		t.Fatalf("6.1.192 = %+v, %v; want its entry", k, err)
	}
	if k.Meta.HasOption("CONFIG_SCHED_CLASS_EXT") || !k.Meta.HasOption("CONFIG_BPF") {
		t.Fatalf("metadata omissions not kept: %v", k.Meta.KconfigOmitted)
	}
	if s := k.Meta.KconfigStatus(KconfigHashFor(k.Meta.Version)); s != KconfigMatches {
		t.Fatalf("6.1 entry kconfig status %s, want matches", s)
	}
}
