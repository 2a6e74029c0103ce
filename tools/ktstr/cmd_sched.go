package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr/scheds"
)

func init() {
	register("sched", "build the reference and kernel-tree sched_ext schedulers (sched build)", cmdSched)
}

const schedUsage = "usage: ktstr sched build [--vmlinux PATH] [--src KERNEL_SRC] [--cache DIR] [--no-tree] [--out-dir DIR]"

func cmdSched(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] != "build" {
		fmt.Fprintln(os.Stderr, schedUsage)
		return 2
	}
	fs := flag.NewFlagSet("sched build", flag.ContinueOnError)
	vmlinux := fs.String("vmlinux", "", "vmlinux with BTF of the kernel under test (default $KTSTR_VMLINUX, else the kernel under test's: cached, build tree, or beside $KTSTR_KERNEL)")
	src := fs.String("src", "", "kernel source with tools/sched_ext (default $KTSTR_KERNEL_SRC, else /usr/src/linux-source-6.12.tar.xz extracted once into the user cache)")
	cache := fs.String("cache", "", "build cache directory (default $KTSTR_SCHED_CACHE or ~/.cache/ktstr/scheds)")
	noTree := fs.Bool("no-tree", false, "only the in-repo schedulers and loader, not scx_simple/qmap/central/flatcg")
	outDir := fs.String("out-dir", "", "also place the loader, every in-repo *.bpf.o and the kernel-tree binaries in DIR under their /sched/ names (hard links when possible)")
	verbose := fs.Bool("v", false, "log the build commands")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "ktstr sched build: unexpected arguments %q\n%s\n", fs.Args(), schedUsage)
		return 2
	}
	log := zap.NewNop()
	if *verbose {
		log, _ = zap.NewDevelopment()
	}
	b, err := scheds.Build(ctx, scheds.BuildConfig{Vmlinux: *vmlinux, KernelSrc: *src, CacheDir: *cache, KernelTree: !*noTree, Log: log})
	if err != nil {
		fmt.Fprintf(os.Stderr, "ktstr sched build: %v\n", err)
		return 1
	}
	if *outDir != "" {
		if err := exportScheds(b, *outDir); err != nil {
			fmt.Fprintf(os.Stderr, "ktstr sched build: %v\n", err)
			return 1
		}
	}
	fmt.Printf("loader  %s\n", b.Loader)
	names := make([]string, 0, len(b.Objects))
	for n := range b.Objects {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Printf("object  %-12s %s\n", n, b.Objects[n])
	}
	for _, n := range scheds.KernelTreeScheds {
		if p, ok := b.Tools[n]; ok {
			fmt.Printf("binary  %-12s %s\n", n, p)
		}
	}
	return 0
}

// exportScheds places what the guest runs under the base names the
// scheduler definitions use in /sched/ (scheds.BPFObject and
// BuiltBinary Argv): scxload, NAME.bpf.o of each in-repo scheduler, and
// the kernel-tree binaries. The runner's KTSTR_SCHED_FILES packs each file
// as /sched/<basename>, so these names must not change.
func exportScheds(b *scheds.Built, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := map[string]string{"scxload": b.Loader}
	for _, n := range scheds.RefNames() {
		files[n+".bpf.o"] = b.Objects[n]
	}
	for _, n := range scheds.KernelTreeScheds {
		if p, ok := b.Tools[n]; ok {
			files[n] = p
		}
	}
	for name, src := range files {
		if err := exportFile(src, filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("placing %s in %s: %w", name, dir, err)
		}
	}
	return nil
}

// exportFile places src at dst, hard-linked when on the same file system,
// else copied with src's mode. It goes through a temp name + rename so dst
// is never a partial file.
func exportFile(src, dst string) error {
	tmp := dst + ".tmp"
	os.Remove(tmp)
	if err := os.Link(src, tmp); err != nil {
		if err := copyFile(src, tmp); err != nil {
			return err
		}
		st, err := os.Stat(src)
		if err != nil {
			os.Remove(tmp)
			return err
		}
		if err := os.Chmod(tmp, st.Mode().Perm()); err != nil {
			os.Remove(tmp)
			return err
		}
	}
	err := os.Rename(tmp, dst)
	// Also after success: renaming onto a hard link of the same file
	// (a repeated export) succeeds without removing tmp.
	os.Remove(tmp)
	return err
}
