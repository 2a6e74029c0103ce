package kernel

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
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

// Hint is the remediation every "no kernel" message ends with: the forms
// a kernel identifier (KTSTR_KERNEL, a --kernel flag) really accepts.
const Hint = "set KTSTR_KERNEL (or pass --kernel) to a bzImage or a kernel build tree, a cached version " +
	"(6.12 or 6.12.118; `ktstr kernel list` shows them), a cache key or an OCI reference; " +
	"or run `ktstr kernel build` to build the default kernel into the cache"

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
	// "path", "local tree", "host".
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
//     a kernel image (a bzImage, checked by its boot-protocol magic) or be
//     a build tree with one, and a vmlinux that goes with it must be from
//     the same build; a version is looked up in the cache ("6.12" takes the
//     newest cached 6.12.x); a cache key or digest must be cached; an OCI
//     reference is used from the cache or pulled. A spec that misses is an
//     error: never silently boot a different kernel. Ranges and git sources
//     name no single kernel and are rejected (after Validate, so an
//     inverted range names the swap);
//  2. the newest sound cache entry whose kconfig hash is not stale
//     (untracked entries are kept; entries with an unusable vmlinux are
//     skipped with a warning);
//  3. local build trees; 4. host kernel images.
//
// A spec that can never resolve as written is a *SpecError. When nothing
// is found the error wraps ErrNotFound and says how to get a kernel.
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
	if spec != "" {
		return resolveSpec(ctx, spec, label, opts, lg)
	}
	if k := scanCache(opts.CacheDir, lg); k != nil {
		return k, nil
	}
	release := kernelRelease()
	trees := opts.LocalTrees
	if trees == nil {
		trees = []string{"./linux", "../linux", filepath.Join("/lib/modules", release, "build")}
	}
	for _, t := range trees {
		if _, err := os.Stat(t); err != nil {
			continue
		}
		k, err := loadPath(t)
		if err == nil {
			k.Source = "local tree"
			return k, nil
		}
		if !errors.Is(err, errNoImage) {
			lg.Warn("skipping local kernel tree", zap.String("tree", t), zap.Error(err))
		}
	}
	hosts := opts.HostPaths
	if hosts == nil {
		hosts = []string{filepath.Join("/lib/modules", release, "vmlinuz"), "/boot/vmlinuz-" + release, "/boot/vmlinuz"}
	}
	for _, h := range hosts {
		if !isFile(h) {
			continue
		}
		if _, err := CheckImage(h); err != nil {
			lg.Debug("skipping host kernel image", zap.String("image", h), zap.Error(err))
			continue
		}
		return &Kernel{Image: h, Source: "host"}, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrNotFound, Hint)
}

// resolveSpec handles step 1.
func resolveSpec(ctx context.Context, spec, label string, opts ResolveOptions, lg *zap.Logger) (*Kernel, error) {
	id, err := checkID(spec, label)
	if err != nil {
		return nil, err
	}
	if id.Kind == IDPath {
		k, err := loadPath(expandHome(id.Value))
		if err != nil {
			return nil, &SpecError{Label: label, Err: err}
		}
		k.Source = "path"
		return k, nil
	}
	c, err := OpenCache(opts.CacheDir, lg)
	if err != nil {
		return nil, fmt.Errorf("%s needs the kernel cache: %w", label, err)
	}
	switch id.Kind {
	case IDVersion:
		if e, err := c.Lookup(id.Value + "-tarball-" + HostArch() + "-kc" + KconfigHashFor(id.Value)); err == nil {
			return kernelFromEntry(e, "cache"), nil
		}
		entries, err := c.List()
		if err != nil {
			return nil, err
		}
		if e := newestRelease(entries, id.Value, lg); e != nil {
			return kernelFromEntry(e, "cache"), nil
		}
		return nil, fmt.Errorf("%w: %s: no such version in the cache %s (`ktstr kernel list` shows what is there); "+
			"build one with `ktstr kernel build --source TREE|TARBALL|URL#sha256=HEX|git+URL#REF`", ErrNotFound, label, c.Root())
	case IDOCIRef:
		if e, err := c.Lookup(id.Value); err == nil {
			return kernelFromEntry(e, "cache"), nil
		}
		e, err := c.Pull(ctx, id.Value, opts.Insecure)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", label, err)
		}
		return kernelFromEntry(e, "pulled"), nil
	}
	// A cache key or digest.
	e, err := c.Lookup(id.Value)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: %s is not in the kernel cache %s (`ktstr kernel list` shows the cached keys)", ErrNotFound, label, c.Root())
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	return kernelFromEntry(e, "cache"), nil
}

// newestRelease returns the sound entry of the highest release that is
// want or, for a prefix such as "6.12", one of its patch releases or
// release candidates; nil if none. Of equal releases it takes one built
// with the current kconfig fragment over an untracked or stale one, then
// the newest build.
func newestRelease(entries []Entry, want string, lg *zap.Logger) *Entry {
	rank := map[KconfigStatus]int{KconfigMatches: 2, KconfigUntracked: 1, KconfigStale: 0}
	status := func(e *Entry) KconfigStatus { return e.Meta.KconfigStatus(KconfigHashFor(e.Meta.Version)) }
	var best *Entry
	for i := range entries {
		e := &entries[i]
		v := e.Meta.Version
		if e.Corrupt != "" || !(v == want || strings.HasPrefix(v, want+".") || strings.HasPrefix(v, want+"-rc")) {
			continue
		}
		if best != nil {
			c, err := compareVersions(v, best.Meta.Version)
			if err != nil || c < 0 {
				continue
			}
			// List is newest build first: of equals the first stays.
			if c == 0 && rank[status(e)] <= rank[status(best)] {
				continue
			}
		}
		if usableEntry(e, lg) {
			best = e
		}
	}
	return best
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

// errNoImage means a directory holds no built kernel image.
var errNoImage = errors.New("kernel image")

// loadPath accepts a build tree (image at arch/x86/boot/bzImage) or an
// image file: one inside a build tree is that tree's kernel (its vmlinux
// and .config), else a vmlinux beside it goes with it. The image must
// pass CheckImage and the vmlinux CheckVmlinux.
func loadPath(p string) (*Kernel, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errors.New("no such file or directory: pass a bzImage or a kernel build tree")
	}
	if err != nil {
		return nil, err
	}
	// The vmlinux (and, in a build tree, the .config) are looked for in dir.
	dir, inTree := filepath.Dir(abs), false
	k := &Kernel{Image: abs}
	if st.IsDir() {
		dir, inTree = abs, true
		k.Image = filepath.Join(dir, imageRelPath(HostArch()))
		if !isFile(k.Image) {
			return nil, fmt.Errorf("no built %w at %s: build the tree (make bzImage) or pass an image file", errNoImage, imageRelPath(HostArch()))
		}
	} else if root, ok := strings.CutSuffix(abs, string(filepath.Separator)+imageRelPath(HostArch())); ok {
		dir, inTree = root, true
	}
	info, err := CheckImage(k.Image)
	if err != nil {
		if k.Image != abs {
			return nil, fmt.Errorf("%s: %w", imageRelPath(HostArch()), err)
		}
		return nil, err
	}
	if v := filepath.Join(dir, "vmlinux"); isFile(v) {
		if err := CheckVmlinux(v, info); err != nil {
			return nil, err
		}
		k.Vmlinux = v
	}
	if c := filepath.Join(dir, ".config"); inTree && isFile(c) {
		k.Config = c
	}
	if !inTree {
		addSidecars(k, dir) // an --out-dir layout: config and metadata.json beside the image
	}
	return k, nil
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
