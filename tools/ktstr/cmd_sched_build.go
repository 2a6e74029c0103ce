package main

import (
	"fmt"
	"sort"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr/scheds"
)

func init() { register("sched", newSchedBuildCmd) }

func newSchedBuildCmd(e *env) *cobra.Command {
	var (
		cfg     scheds.BuildConfig
		noTree  bool
		outDir  string
		verbose bool
	)
	c := &cobra.Command{
		Use:   "build",
		Short: "Build the in-repo BPF schedulers (and the kernel tree's scx_* ones) against a kernel's BTF",
		Long: `Compiles the in-repo BPF schedulers (their sources are embedded in ktstr) with
clang against the kernel's BTF and, unless --no-tree, the kernel source's
tools/sched_ext schedulers. The loader is ktstr itself (run as scxload), so no
source tree is needed. Builds are cached by BTF, sources and toolchain.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cfg.KernelTree = !noTree
			cfg.Log = zap.NewNop()
			if verbose {
				cfg.Log = e.loggerAt(zap.DebugLevel)
			}
			b, err := scheds.Build(c.Context(), cfg)
			if err != nil {
				return err
			}
			if outDir != "" {
				if err := exportScheds(b, outDir); err != nil {
					return err
				}
			}
			fmt.Fprintf(e.stdout, "loader  %s\n", b.Loader)
			names := make([]string, 0, len(b.Objects))
			for n := range b.Objects {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				fmt.Fprintf(e.stdout, "object  %-12s %s\n", n, b.Objects[n])
			}
			for _, n := range scheds.KernelTreeScheds {
				if p, ok := b.Tools[n]; ok {
					fmt.Fprintf(e.stdout, "binary  %-12s %s\n", n, p)
				}
			}
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVar(&cfg.Vmlinux, "vmlinux", "", "vmlinux with BTF of the kernel under test (default $KTSTR_VMLINUX, else the kernel under test's: cached, build tree, or beside $KTSTR_KERNEL)")
	fl.StringVar(&cfg.KernelSrc, "src", "", "kernel source with tools/sched_ext (default $KTSTR_KERNEL_SRC, else /usr/src/linux-source-6.12.tar.xz extracted once into the user cache)")
	fl.StringVar(&cfg.CacheDir, "cache", "", "build cache directory (default $KTSTR_SCHED_CACHE or ~/.cache/ktstr/scheds)")
	fl.BoolVar(&noTree, "no-tree", false, "only the in-repo schedulers, not scx_simple/qmap/central/flatcg")
	fl.StringVar(&outDir, "out-dir", "", "also place the loader, every in-repo *.bpf.o and the kernel-tree binaries in `DIR` under their /sched/ names (hard links when possible)")
	fl.BoolVarP(&verbose, "verbose", "v", false, "log the build commands")
	return c
}
