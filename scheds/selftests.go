package scheds

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/scenario"
)

// SelftestsName is the sched_ext selftests runner's file name, in the
// build cache and, as an include, in the guest (/include/<name>).
const SelftestsName = "sched_ext_selftests"

// selftestsDir is the suite in a kernel source tree.
const selftestsDir = "tools/testing/selftests/sched_ext"

// Selftests runs the kernel's own sched_ext selftests
// (tools/testing/selftests/sched_ext: the runner, every test linked in)
// as a TAP payload: each of its "ok N name" / "not ok N name" results is
// a case of the run. The runner loads its own BPF schedulers one after
// another, so run it without a scheduler under test (ktstr.Opts.
// Scheduler nil). Build it with SelftestsIncludes, for the test's
// ktstr.Opts.Includes; Args (e.g. "-t", "minimal") narrow the run.
var Selftests = scenario.Payload{
	Name:    "sched_ext_selftests",
	Program: SelftestsName,
	Format:  scenario.TAPOutput(),
	// Each test loads a BPF scheduler: seconds each under emulation.
	Timeout: 15 * time.Minute,
}

var selftestsOnce = sync.OnceValues(func() (string, error) {
	return BuildSelftests(context.Background(), BuildConfig{})
})

// SelftestsIncludes builds the selftests runner for the kernel under
// test once per process (cached on disk like the schedulers) and
// returns it for ktstr.Opts.Includes. In the guest it builds nothing and
// returns nil: the includes are already packed.
func SelftestsIncludes() ([]string, error) {
	if guest.IsChild() || guest.IsPID1() {
		return nil, nil
	}
	p, err := selftestsOnce()
	if err != nil {
		return nil, err
	}
	return []string{p}, nil
}

// BuildSelftests builds the kernel's sched_ext selftests runner from the
// kernel source (cfg.KernelSrc, else FindKernelSrc: the tree the default
// kernel is built from) against the kernel's vmlinux BTF, linked
// statically, into a cache entry keyed by that BTF, the suite's sources
// and the toolchain. It returns the runner's path.
func BuildSelftests(ctx context.Context, cfg BuildConfig) (string, error) {
	cfg.KernelTree = true // the suite needs the source tree
	if err := cfg.defaults(ctx); err != nil {
		return "", err
	}
	if st, err := os.Stat(filepath.Join(cfg.KernelSrc, selftestsDir, "Makefile")); err != nil || !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s has no %s: the sched_ext selftests need a 6.12 or later kernel source tree", cfg.KernelSrc, selftestsDir)
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	btfHash, err := btfDigest(cfg.Vmlinux)
	if err != nil {
		return "", err
	}
	key, err := selftestsKey(btfHash, cfg)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cfg.CacheDir, "selftests-"+key)
	if err := ensure(dir, cfg.Log, func(tmp string) error { return buildSelftests(ctx, cfg, tmp) }); err != nil {
		return "", err
	}
	return filepath.Join(dir, SelftestsName), nil
}

func selftestsKey(btfHash string, cfg BuildConfig) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "ktstr-selftests-v1\nbtf %s\nclang %s\ncc %s\n%s", btfHash,
		toolVersion(cfg.Clang, "--version"), toolVersion("cc", "--version"), lineBuffered)
	// The suite, the headers it shares with the schedulers, the libbpf
	// and bpftool it builds.
	for _, d := range []string{selftestsDir, "tools/sched_ext/include", "tools/lib/bpf", "tools/bpf/bpftool"} {
		if err := hashTree(h, cfg.KernelSrc, d); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// hashTree hashes every file under src/dir by relative path and content.
func hashTree(h interface{ Write([]byte) (int, error) }, src, dir string) error {
	root := filepath.Join(src, dir)
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		fmt.Fprintf(h, "%s %d\n", rel, len(b))
		_, err = h.Write(b)
		return err
	})
}

// lineBuffered is forced into every object of the runner: it prints
// its TAP results on stdout and the tests' diagnostics on stderr, and a
// fully buffered stdout in a pipe would put every diagnostic before
// every result, so no case could keep its own output.
const lineBuffered = `#include <stdio.h>
__attribute__((constructor, used)) static void ktstr_line_buffered_stdout(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}
`

// buildSelftests runs the suite's Makefile out of tree into dir: first
// its libbpf and bpftool (dynamic: libbpf's sub-make also links
// libbpf.so, which a global -static breaks), then the runner, static,
// for a guest without shared libraries.
func buildSelftests(ctx context.Context, cfg BuildConfig, dir string) error {
	obj := filepath.Join(dir, "obj")
	if err := os.MkdirAll(obj, 0o755); err != nil {
		return err
	}
	hdr := filepath.Join(dir, "line_buffered.h")
	if err := os.WriteFile(hdr, []byte(lineBuffered), 0o644); err != nil {
		return err
	}
	args := []string{"-C", filepath.Join(cfg.KernelSrc, selftestsDir), "OUTPUT=" + obj,
		"CLANG=" + cfg.Clang, "VMLINUX_BTF=" + cfg.Vmlinux, "-j2"}
	if err := run(ctx, cfg.Log, dir, nil, "make", append(args,
		filepath.Join(obj, "build/obj/libbpf/libbpf.a"), filepath.Join(obj, "build/host/sbin/bpftool"))...); err != nil {
		return fmt.Errorf("building the sched_ext selftests' libbpf and bpftool: %w", err)
	}
	args = append(args, "USERCFLAGS=-include "+hdr, "LDFLAGS=-static -lelf -lz -lzstd -lpthread")
	if err := run(ctx, cfg.Log, dir, nil, "make", append(args, filepath.Join(obj, "runner"))...); err != nil {
		return fmt.Errorf("building the sched_ext selftests: %w", err)
	}
	bin := filepath.Join(dir, SelftestsName)
	if err := os.Rename(filepath.Join(obj, "runner"), bin); err != nil {
		return fmt.Errorf("collecting the selftests runner: %w", err)
	}
	if err := checkStatic(bin); err != nil {
		return err
	}
	return os.RemoveAll(obj)
}
