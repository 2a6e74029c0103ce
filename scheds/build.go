// Package scheds holds ktstr's own sched_ext test subjects and builds them:
// the in-repo reference schedulers (BPF C under bpf/, loaded in the guest
// by the static Go loader cmd/scxload) and the kernel tree's example
// schedulers (tools/sched_ext: scx_simple, scx_qmap, scx_central,
// scx_flatcg), linked statically so they run in a bare initramfs.
//
// Builds land in a cache directory keyed by the kernel's BTF and the
// sources, so each happens once per machine.
package scheds

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr/internal/cachedir"
	"github.com/ktstr-go/ktstr/internal/modroot"
	"github.com/ktstr-go/ktstr/internal/tailbuf"
	"github.com/ktstr-go/ktstr/kernel"
)

//go:embed bpf/*.bpf.c bpf/*.bpf.h
var bpfSources embed.FS

// loaderSource is the loader's code, hashed into the cache key of a
// loader built from the source tree.
//
//go:embed scxload/scxload.go
var loaderSource []byte

// selfLoader makes the running executable the loader (UseSelfAsLoader).
var selfLoader atomic.Bool

// UseSelfAsLoader makes Build use the running executable as the loader
// instead of building scxload from the ktstr-go source tree. A program
// calls it when it runs scxload.Main itself whenever it is invoked under
// the name scxload (the ktstr command does): such a program works outside
// the source tree, and the guest's /sched/scxload is the program.
func UseSelfAsLoader() { selfLoader.Store(true) }

// KernelTreeScheds are the example schedulers of the kernel's tools/sched_ext.
var KernelTreeScheds = []string{"scx_simple", "scx_qmap", "scx_central", "scx_flatcg"}

// Toolchain defaults (Debian 12 package names).
const (
	DefaultClang   = "clang-19"
	DefaultBpftool = "bpftool"
)

// Env vars that locate the inputs.
const (
	// EnvVmlinux names the vmlinux (with .BTF) of the kernel under test.
	EnvVmlinux = kernel.EnvVmlinux
	// EnvKernelSrc names a kernel source tree holding tools/sched_ext.
	EnvKernelSrc = "KTSTR_KERNEL_SRC"
	// EnvCache overrides the build cache directory.
	EnvCache = "KTSTR_SCHED_CACHE"
	// EnvSrc names the ktstr-go source tree (to build the loader) when the
	// current directory is not inside it.
	EnvSrc = "KTSTR_SRC"
)

// BuildConfig says what to build from.
type BuildConfig struct {
	// Vmlinux is the kernel's vmlinux (or stripped copy) carrying .BTF.
	// Empty: kernel.FindVmlinux ($KTSTR_VMLINUX, else the kernel under
	// test's, e.g. the cached default kernel's).
	Vmlinux string
	// KernelSrc is a kernel source tree with tools/sched_ext; only needed
	// for the kernel-tree schedulers. Empty: FindKernelSrc.
	KernelSrc string
	// CacheDir holds build results. Empty: $KTSTR_SCHED_CACHE, else
	// <user cache>/ktstr/scheds.
	CacheDir string
	// Clang and Bpftool name the tools (defaults clang-19, bpftool).
	Clang, Bpftool string
	// KernelTree also builds scx_simple, scx_qmap, scx_central, scx_flatcg.
	KernelTree bool
	Log        *zap.Logger
}

// Built lists what a build produced (all paths on the host).
type Built struct {
	// Dir is the cache entry.
	Dir string
	// Loader is the static scxload binary.
	Loader string
	// Objects maps a reference scheduler's short name (fifo, vtime,
	// starve, stall, error, unfair) to its BPF object.
	Objects map[string]string
	// Tools maps a kernel-tree scheduler (scx_simple, ...) to its static
	// binary; empty unless BuildConfig.KernelTree.
	Tools map[string]string
}

func (c *BuildConfig) defaults(ctx context.Context) error {
	if c.Log == nil {
		c.Log = zap.NewNop()
	}
	if c.Clang == "" {
		c.Clang = DefaultClang
	}
	if c.Bpftool == "" {
		c.Bpftool = DefaultBpftool
	}
	if c.CacheDir == "" {
		c.CacheDir = os.Getenv(EnvCache)
	}
	if c.CacheDir == "" {
		c.CacheDir = cachedir.Dir("scheds")
	}
	if c.Vmlinux == "" {
		v, err := kernel.FindVmlinux(ctx)
		if err != nil {
			return err
		}
		c.Vmlinux = v
	}
	if c.KernelTree && c.KernelSrc == "" {
		s, err := FindKernelSrc(ctx, c.Log)
		if err != nil {
			return err
		}
		c.KernelSrc = s
	}
	return nil
}

var buildMu sync.Mutex

// Build produces the loader and every reference scheduler object (and, if
// asked, the kernel-tree schedulers) in a cache entry keyed by the
// kernel's BTF, the sources and the toolchain; a finished entry is reused.
// Entries appear atomically (built in a temp dir, then renamed).
func Build(ctx context.Context, cfg BuildConfig) (*Built, error) {
	if err := cfg.defaults(ctx); err != nil {
		return nil, err
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	btfHash, err := btfDigest(cfg.Vmlinux)
	if err != nil {
		return nil, err
	}
	refKey, err := refKey(btfHash, cfg)
	if err != nil {
		return nil, err
	}
	b := &Built{Objects: map[string]string{}, Tools: map[string]string{}}
	refDir := filepath.Join(cfg.CacheDir, "ref-"+refKey)
	if err := ensure(refDir, cfg.Log, func(tmp string) error { return buildRef(ctx, cfg, tmp) }); err != nil {
		return nil, err
	}
	b.Dir = refDir
	b.Loader = filepath.Join(refDir, "scxload")
	if selfLoader.Load() {
		if b.Loader, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("locating this program, the loader: %w", err)
		}
	}
	for _, n := range RefNames() {
		b.Objects[n] = filepath.Join(refDir, n+".bpf.o")
	}
	if cfg.KernelTree {
		treeKey, err := treeKey(btfHash, cfg)
		if err != nil {
			return nil, err
		}
		treeDir := filepath.Join(cfg.CacheDir, "tree-"+treeKey)
		if err := ensure(treeDir, cfg.Log, func(tmp string) error { return buildTree(ctx, cfg, tmp) }); err != nil {
			return nil, err
		}
		for _, n := range KernelTreeScheds {
			b.Tools[n] = filepath.Join(treeDir, n)
			b.Objects[n] = filepath.Join(treeDir, n+".bpf.o")
		}
	}
	return b, nil
}

// RefNames lists the in-repo reference schedulers by short name.
func RefNames() []string {
	ents, _ := fs.Glob(bpfSources, "bpf/*.bpf.c")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(filepath.Base(e), ".bpf.c"))
	}
	sort.Strings(out)
	return out
}

// ensure builds dir with build(tmp) unless dir already exists.
func ensure(dir string, log *zap.Logger, build func(tmp string) error) error {
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		log.Debug("sched build cache hit", zap.String("dir", dir))
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("creating sched cache: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".tmp-"+filepath.Base(dir)+"-")
	if err != nil {
		return fmt.Errorf("creating sched cache entry: %w", err)
	}
	defer os.RemoveAll(tmp) // after a successful rename this is a no-op
	log.Info("building schedulers", zap.String("into", dir))
	if err := build(tmp); err != nil {
		return err
	}
	// MkdirTemp made it private; the entry is shared like any cache.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("sched cache entry: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(dir); serr == nil {
			return nil // another process won the race
		}
		return fmt.Errorf("installing sched cache entry: %w", err)
	}
	return nil
}

// btfDigest hashes the .BTF section of vmlinux: it is what vmlinux.h and
// every CO-RE relocation depend on.
func btfDigest(vmlinux string) (string, error) {
	f, err := elf.Open(vmlinux)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w (need the kernel's vmlinux ELF with BTF)", vmlinux, err)
	}
	defer f.Close()
	sec := f.Section(".BTF")
	if sec == nil {
		return "", fmt.Errorf("%s has no .BTF section: build the kernel with CONFIG_DEBUG_INFO_BTF=y", vmlinux)
	}
	h := sha256.New()
	if _, err := io.Copy(h, sec.Open()); err != nil {
		return "", fmt.Errorf("hashing BTF of %s: %w", vmlinux, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func toolVersion(name string, args ...string) string {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return "missing"
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return line
}

func refKey(btfHash string, cfg BuildConfig) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "ktstr-ref-v1\nbtf %s\nclang %s\ngo %s\n", btfHash, toolVersion(cfg.Clang, "--version"), runtime.Version())
	err := fs.WalkDir(bpfSources, "bpf", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := bpfSources.ReadFile(p)
		fmt.Fprintf(h, "%s %d\n", p, len(b))
		h.Write(b)
		return err
	})
	if err != nil {
		return "", err
	}
	if selfLoader.Load() {
		// The entry holds no loader (the objects are the same): its own
		// key, so a source-tree build never finds an entry without one.
		fmt.Fprintf(h, "loader: self\n")
	} else {
		h.Write(loaderSource)
		if src, err := ModuleRoot(); err == nil {
			// go.sum pins the loader's dependencies.
			if b, err := os.ReadFile(filepath.Join(src, "go.sum")); err == nil {
				h.Write(b)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func treeKey(btfHash string, cfg BuildConfig) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "ktstr-tree-v1\nbtf %s\nclang %s\ncc %s\nbpftool %s\n", btfHash,
		toolVersion(cfg.Clang, "--version"), toolVersion("cc", "--version"), toolVersion(cfg.Bpftool, "version"))
	// The schedulers, their headers, and the libbpf they link.
	for _, dir := range []string{"tools/sched_ext", "tools/lib/bpf"} {
		root := filepath.Join(cfg.KernelSrc, dir)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == "build" && p != root {
					return filepath.SkipDir
				}
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(cfg.KernelSrc, p)
			fmt.Fprintf(h, "%s %d\n", rel, len(b))
			h.Write(b)
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("hashing %s: %w", root, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// ModuleRoot finds the ktstr-go source tree: $KTSTR_SRC, else the
// enclosing module of the working directory.
func ModuleRoot() (string, error) {
	if s := os.Getenv(EnvSrc); s != "" {
		return s, nil
	}
	dir, err := modroot.Find("", modulePath)
	if err != nil {
		return "", fmt.Errorf("not inside the ktstr-go source tree: run from it or set %s to it (needed to build scxload; the ktstr command needs neither, it is its own loader)", EnvSrc)
	}
	return dir, nil
}

// modulePath is ktstr-go's Go module.
const modulePath = "github.com/ktstr-go/ktstr"

func run(ctx context.Context, log *zap.Logger, dir string, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	log.Debug("run", zap.String("cmd", name+" "+strings.Join(args, " ")))
	if err := cmd.Run(); err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) {
			return fmt.Errorf("%s not found: install it (tools/setup/install-deps.sh)", name)
		}
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, tailbuf.Last(out.String(), 40))
	}
	return nil
}

// genVmlinuxH dumps vmlinux.h from the kernel's BTF into dir.
func genVmlinuxH(ctx context.Context, cfg BuildConfig, dir string) (string, error) {
	out := filepath.Join(dir, "vmlinux.h")
	cmd := exec.CommandContext(ctx, cfg.Bpftool, "btf", "dump", "file", cfg.Vmlinux, "format", "c")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) {
			return "", fmt.Errorf("%s not found: install bpftool (tools/setup/install-deps.sh)", cfg.Bpftool)
		}
		return "", fmt.Errorf("bpftool btf dump %s: %w: %s", cfg.Vmlinux, err, stderr.String())
	}
	if !bytes.Contains(b, []byte("struct sched_ext_ops {")) {
		return "", fmt.Errorf("%s has no struct sched_ext_ops in its BTF: the kernel lacks CONFIG_SCHED_CLASS_EXT", cfg.Vmlinux)
	}
	return out, os.WriteFile(out, b, 0o644)
}

func buildRef(ctx context.Context, cfg BuildConfig, dir string) error {
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	if _, err := genVmlinuxH(ctx, cfg, src); err != nil {
		return err
	}
	ents, _ := fs.Glob(bpfSources, "bpf/*")
	for _, e := range ents {
		b, _ := bpfSources.ReadFile(e)
		if err := os.WriteFile(filepath.Join(src, filepath.Base(e)), b, 0o644); err != nil {
			return err
		}
	}
	for _, n := range RefNames() {
		if err := run(ctx, cfg.Log, src, nil, cfg.Clang, "-g", "-O2", "-target", "bpf", "-mcpu=v3", "-D__TARGET_ARCH_x86",
			"-Wall", "-Werror", "-Wno-compare-distinct-pointer-types", "-I.",
			"-c", n+".bpf.c", "-o", filepath.Join(dir, n+".bpf.o")); err != nil {
			return fmt.Errorf("compiling %s.bpf.c: %w", n, err)
		}
	}
	if selfLoader.Load() {
		return nil
	}
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	if err := run(ctx, cfg.Log, root, []string{"CGO_ENABLED=0"}, "go", "build", "-trimpath", "-o", filepath.Join(dir, "scxload"),
		"./scheds/cmd/scxload"); err != nil {
		return fmt.Errorf("building scxload: %w", err)
	}
	return nil
}

// buildTree runs the kernel's tools/sched_ext Makefile out of tree: the
// tree's libbpf and bpftool with our clang, linked statically against
// Debian's libelf/zlib/zstd.
func buildTree(ctx context.Context, cfg BuildConfig, dir string) error {
	obj := filepath.Join(dir, "obj")
	if err := os.MkdirAll(obj, 0o755); err != nil {
		return err
	}
	args := []string{"-C", filepath.Join(cfg.KernelSrc, "tools/sched_ext"), "O=" + obj,
		"CLANG=" + cfg.Clang, "VMLINUX_BTF=" + cfg.Vmlinux, "-j2"}
	// libbpf and bpftool first, dynamically: libbpf's sub-make also links
	// libbpf.so, which a global -static would break. The tree's bpftool is
	// needed (Debian's 7.1 generates skeletons without struct_ops
	// members). Then the second make only links the schedulers, static.
	if err := run(ctx, cfg.Log, dir, nil, "make", append(args,
		filepath.Join(obj, "build/obj/libbpf/libbpf.a"), filepath.Join(obj, "build/sbin/bpftool"))...); err != nil {
		return fmt.Errorf("building the kernel tree's libbpf and bpftool: %w", err)
	}
	args = append(args, "LDFLAGS=-static -lelf -lz -lzstd -lpthread")
	if err := run(ctx, cfg.Log, dir, nil, "make", append(args, KernelTreeScheds...)...); err != nil {
		return fmt.Errorf("building the kernel tree's schedulers: %w", err)
	}
	for _, n := range KernelTreeScheds {
		bin := filepath.Join(obj, "build/bin", n)
		if err := os.Rename(bin, filepath.Join(dir, n)); err != nil {
			return fmt.Errorf("collecting %s: %w", n, err)
		}
		o := filepath.Join(obj, "build/obj/sched_ext", n+".bpf.o")
		if err := os.Rename(o, filepath.Join(dir, n+".bpf.o")); err != nil {
			return fmt.Errorf("collecting %s.bpf.o: %w", n, err)
		}
		if err := checkStatic(filepath.Join(dir, n)); err != nil {
			return err
		}
	}
	return os.RemoveAll(obj)
}

// checkStatic makes sure bin has no dynamic loader: the guest has no libc.
func checkStatic(bin string) error {
	f, err := elf.Open(bin)
	if err != nil {
		return fmt.Errorf("reading %s: %w", bin, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked; the guest has no shared libraries", bin)
		}
	}
	return nil
}
