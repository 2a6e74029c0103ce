package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"

	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr/tests/scheds"
)

func init() {
	register("sched", "build the reference and kernel-tree sched_ext schedulers (sched build)", cmdSched)
}

func cmdSched(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] != "build" {
		fmt.Fprintln(os.Stderr, "usage: ktstr sched build [-vmlinux PATH] [-src KERNEL_SRC] [-cache DIR] [-no-tree]")
		return 2
	}
	fs := flag.NewFlagSet("sched build", flag.ContinueOnError)
	vmlinux := fs.String("vmlinux", "", "vmlinux with BTF of the kernel under test (default $KTSTR_VMLINUX, else beside $KTSTR_KERNEL)")
	src := fs.String("src", "", "kernel source with tools/sched_ext (default $KTSTR_KERNEL_SRC, /var/tmp/linux-source-6.12)")
	cache := fs.String("cache", "", "build cache directory (default $KTSTR_SCHED_CACHE or ~/.cache/ktstr/scheds)")
	noTree := fs.Bool("no-tree", false, "only the in-repo schedulers and loader, not scx_simple/qmap/central/flatcg")
	verbose := fs.Bool("v", false, "log the build commands")
	if err := fs.Parse(args[1:]); err != nil {
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
