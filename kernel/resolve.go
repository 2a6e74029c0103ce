package kernel

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// ErrNotFound means no kernel could be found. Test runners skip on it
// (errors.Is); its message carries Hint.
var ErrNotFound = errors.New("no kernel found")

// EnvKernel names the environment variable that selects a kernel.
const EnvKernel = "KTSTR_KERNEL"

// Hint is the remediation every "no kernel" message ends with.
const Hint = "set KTSTR_KERNEL to a kernel source directory, a version (e.g. `6.12.117`), " +
	"a cache key (see `ktstr kernel list`) or an OCI reference, or run `ktstr kernel build` " +
	"to populate the cache"

// EnvSpec reads KTSTR_KERNEL trimmed of surrounding whitespace; unset,
// empty and whitespace-only all read as "" (shells and CI emit empty values
// for unused variables).
func EnvSpec() string { return strings.TrimSpace(os.Getenv(EnvKernel)) }

// Kernel is a bootable kernel and what goes with it.
type Kernel struct {
	// Image is the bzImage to boot.
	Image string
	// Vmlinux is the symbols+BTF vmlinux; empty when unknown (host
	// kernels).
	Vmlinux string
	// Config is the kernel .config; empty when unknown.
	Config string
	// MetadataFile is the cache entry's metadata.json; empty outside the
	// cache.
	MetadataFile string
	// Key and Digest identify a cache entry; empty outside the cache.
	Key    string
	Digest string
	// Source says how the kernel was found: "cache", "built", "pulled",
	// "KTSTR_KERNEL path", "local tree", "host".
	Source string
	// Meta is the cache entry's metadata; nil outside the cache.
	Meta *Metadata
}

func kernelFromEntry(e *Entry, how string) *Kernel {
	m := e.Meta
	return &Kernel{
		Image: e.Image, Vmlinux: e.Vmlinux, Config: e.Config, MetadataFile: e.MetadataFile,
		Key: e.Key, Digest: e.Digest, Source: how, Meta: &m,
	}
}

// ResolveOptions tunes Resolve.
type ResolveOptions struct {
	// Spec selects the kernel like KTSTR_KERNEL does and wins over it;
	// empty means read KTSTR_KERNEL.
	Spec string
	// CacheDir is the kernel cache; empty means DefaultCacheDir.
	CacheDir string
	// Insecure allows plain-HTTP registries when Spec is an OCI reference
	// that must be pulled.
	Insecure bool
	// LocalTrees replaces the build trees searched after the cache
	// (default ./linux, ../linux, /lib/modules/$(uname -r)/build); an
	// empty non-nil slice searches none.
	LocalTrees []string
	// HostPaths replaces the host kernel images searched last (default
	// /lib/modules/$(uname -r)/vmlinuz, /boot/vmlinuz-$(uname -r),
	// /boot/vmlinuz); an empty non-nil slice searches none.
	HostPaths []string
	// Logger gets warnings about skipped cache entries; nil means none.
	Logger *zap.Logger
}

// Resolve finds the kernel to boot:
//
//  1. the spec (ResolveOptions.Spec, else KTSTR_KERNEL): a path must hold
//     a kernel image; a version or cache key is looked up in the cache and,
//     on a miss, the general cache scan is skipped (never silently boot a
//     different kernel); an OCI reference is used from the cache or pulled;
//     ranges and git sources are rejected (single kernel only), after
//     Validate so an inverted range names the swap;
//  2. the newest sound cache entry whose kconfig hash is not stale
//     (untracked entries are kept; entries with an unusable vmlinux are
//     skipped with a warning);
//  3. local build trees; 4. host kernel images.
//
// When nothing is found the error wraps ErrNotFound and ends with Hint.
func Resolve(ctx context.Context, opts ResolveOptions) (*Kernel, error) {
	lg := opts.Logger
	if lg == nil {
		lg = zap.NewNop()
	}
	spec := strings.TrimSpace(opts.Spec)
	label := "kernel " + spec
	if spec == "" {
		spec = EnvSpec()
		label = EnvKernel + "=" + spec
	}
	skipScan := false
	if spec != "" {
		k, err := resolveSpec(ctx, spec, label, opts, lg)
		if k != nil || err != nil {
			return k, err
		}
		// An explicit version or key that missed: fall through to the
		// file system like the seed does, but not to other cache entries.
		skipScan = true
	}
	if !skipScan {
		if k := scanCache(opts.CacheDir, lg); k != nil {
			return k, nil
		}
	}
	release := kernelRelease()
	trees := opts.LocalTrees
	if trees == nil {
		trees = []string{"./linux", "../linux", filepath.Join("/lib/modules", release, "build")}
	}
	for _, t := range trees {
		if k := kernelFromPath(t); k != nil {
			k.Source = "local tree"
			return k, nil
		}
	}
	hosts := opts.HostPaths
	if hosts == nil {
		hosts = []string{filepath.Join("/lib/modules", release, "vmlinuz"), "/boot/vmlinuz-" + release, "/boot/vmlinuz"}
	}
	for _, h := range hosts {
		if isFile(h) {
			return &Kernel{Image: h, Source: "host"}, nil
		}
	}
	if skipScan {
		return nil, fmt.Errorf("%w: %s is not in the kernel cache and no local kernel tree was found. %s", ErrNotFound, label, Hint)
	}
	return nil, fmt.Errorf("%w: %s", ErrNotFound, Hint)
}

// resolveSpec handles step 1. It returns (nil, nil) for a version or key
// that is not cached.
func resolveSpec(ctx context.Context, spec, label string, opts ResolveOptions, lg *zap.Logger) (*Kernel, error) {
	id, err := ParseID(spec)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	openCache := func() (*Cache, error) {
		c, err := OpenCache(opts.CacheDir, lg)
		if err != nil {
			return nil, fmt.Errorf("%s requires cache access, but the cache directory could not be opened: %w", label, err)
		}
		return c, nil
	}
	switch id.Kind {
	case IDPath:
		if k := kernelFromPath(expandHome(id.Value)); k != nil {
			k.Source = "KTSTR_KERNEL path"
			return k, nil
		}
		return nil, fmt.Errorf("%s does not contain a kernel image. %s", label, Hint)
	case IDVersion:
		c, err := openCache()
		if err != nil {
			return nil, err
		}
		if e, err := c.Lookup(id.Value + "-tarball-" + HostArch() + "-kc" + KconfigHashFor(id.Value)); err == nil {
			return kernelFromEntry(e, "cache"), nil
		}
		entries, err := c.List()
		if err != nil {
			return nil, err
		}
		for i := range entries {
			e := &entries[i]
			if e.Corrupt == "" && e.Meta.Version == id.Value && usableEntry(e, lg) {
				return kernelFromEntry(e, "cache"), nil
			}
		}
		return nil, nil
	case IDCacheKey, IDDigest:
		c, err := openCache()
		if err != nil {
			return nil, err
		}
		e, err := c.Lookup(id.Value)
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", label, err)
		}
		return kernelFromEntry(e, "cache"), nil
	case IDOCIRef:
		c, err := openCache()
		if err != nil {
			return nil, err
		}
		if e, err := c.Lookup(id.Value); err == nil {
			return kernelFromEntry(e, "cache"), nil
		}
		e, err := c.Pull(ctx, id.Value, opts.Insecure)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", label, err)
		}
		return kernelFromEntry(e, "pulled"), nil
	case IDRange, IDGit:
		if err := id.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", label, err)
		}
		return nil, fmt.Errorf("%s: multi-kernel specs (ranges, git sources) are not supported in env-var form. "+
			"Build a git source with `ktstr kernel build --source git+URL#REF`, or set KTSTR_KERNEL to a single "+
			"version, cache key, or path", label)
	}
	return nil, fmt.Errorf("%s: unrecognised kernel identifier. %s", label, Hint)
}

// scanCache returns the newest usable entry, or nil.
func scanCache(dir string, lg *zap.Logger) *Kernel {
	c, err := OpenCache(dir, lg)
	if err != nil {
		lg.Debug("kernel cache unavailable", zap.Error(err))
		return nil
	}
	descs, err := c.descriptors()
	if err != nil {
		lg.Warn("kernel cache unreadable", zap.Error(err))
		return nil
	}
	for _, d := range descs {
		// Load entries one by one, newest first: the first usable one
		// wins, so the rest are never read.
		entry := c.loadEntry(d)
		e := &entry
		if e.Corrupt != "" {
			lg.Warn("skipping corrupt cached kernel", zap.String("key", e.Key), zap.String("why", e.Corrupt))
			continue
		}
		// Untracked entries are kept: skipping them would orphan kernels
		// whose only defect is a missing hash.
		if e.Meta.KconfigStatus(KconfigHashFor(e.Meta.Version)) == KconfigStale {
			continue
		}
		// A kernel built without some options (one that predates
		// sched_ext) is booted only when named, never as the default.
		if len(e.Meta.KconfigOmitted) > 0 {
			continue
		}
		if e.Meta.Arch != "" && e.Meta.Arch != HostArch() {
			continue
		}
		if !usableEntry(e, lg) {
			continue
		}
		return kernelFromEntry(e, "cache")
	}
	return nil
}

// usableEntry rejects an entry whose vmlinux is present but useless to the
// monitor and BPF tooling: not an ELF, or without symbols or .BTF (an old
// strip pipeline could produce that). Only section headers are read, so
// this stays cheap.
func usableEntry(e *Entry, lg *zap.Logger) bool {
	if e.Vmlinux == "" {
		return true
	}
	f, err := elf.Open(e.Vmlinux)
	if err == nil {
		defer f.Close()
		if f.Section(".BTF") == nil {
			err = errors.New("no .BTF section")
		} else if f.Section(".symtab") == nil {
			err = errors.New("no symbol table")
		}
	}
	if err != nil {
		lg.Warn("skipping cached kernel with unusable vmlinux", zap.String("key", e.Key), zap.String("vmlinux", e.Vmlinux), zap.Error(err))
		return false
	}
	return true
}

// kernelFromPath accepts a build tree (image at arch/x86/boot/bzImage) or
// an image file: one inside a build tree is that tree's kernel (its
// vmlinux and .config), else a vmlinux beside it goes with it.
func kernelFromPath(p string) *Kernel {
	st, err := os.Stat(p)
	if err != nil {
		return nil
	}
	if !st.IsDir() {
		abs, _ := filepath.Abs(p)
		if root, ok := strings.CutSuffix(abs, string(filepath.Separator)+imageRelPath(HostArch())); ok {
			if k := kernelFromPath(root); k != nil {
				return k
			}
		}
		k := &Kernel{Image: abs}
		if v := filepath.Join(filepath.Dir(abs), "vmlinux"); isFile(v) {
			k.Vmlinux = v
		}
		addSidecars(k, filepath.Dir(abs))
		return k
	}
	dir, _ := filepath.Abs(p)
	img := filepath.Join(dir, imageRelPath(HostArch()))
	if !isFile(img) {
		return nil
	}
	k := &Kernel{Image: img}
	if v := filepath.Join(dir, "vmlinux"); isFile(v) {
		k.Vmlinux = v
	}
	if c := filepath.Join(dir, ".config"); isFile(c) {
		k.Config = c
	}
	return k
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func expandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~"); ok && (rest == "" || rest[0] == '/') {
		if home, err := os.UserHomeDir(); err == nil {
			return home + rest
		}
	}
	return p
}

func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}
