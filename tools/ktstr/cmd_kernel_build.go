package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ktstr-go/ktstr/kernel"
)

func init() { register("kernel", newKernelBuildCmd) }

func newKernelBuildCmd(e *env) *cobra.Command {
	var (
		o      kernel.BuildOptions
		outDir string
	)
	c := &cobra.Command{
		Use:   "build",
		Short: "Build a kernel with the embedded kconfig into the cache (or reuse the cached one)",
		Long: `Builds a sched_ext kernel from --source with ktstr's kconfig fragment and stores
it in the cache; a kernel of the same source and fragment already cached is
reused. Prints the cache key and the bzImage path. On a terminal a status line
follows make; otherwise a progress line every 30 s gives the elapsed time and,
from the previous build's step count, an estimate of the time left.`,
		Example: `  ktstr kernel build
  ktstr kernel build --source ~/src/linux
  ktstr kernel build --source git+https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux.git#v6.12.118`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if o.Jobs < 0 {
				return usagef("--jobs %d: want 0 (one per CPU) or more", o.Jobs)
			}
			if o.Source != "" || o.SHA256 != "" {
				if err := kernel.CheckSource(o.Source, o.SHA256); err != nil {
					return usageErr(err)
				}
			}
			o.Logger = e.logger()
			if e.liveStatus {
				o.Status = e.stderr
			} else {
				o.Progress = e.stderr
			}
			k, err := kernel.Build(c.Context(), o)
			if err != nil {
				return err
			}
			if outDir != "" {
				if err := exportKernel(k, outDir); err != nil {
					return err
				}
			}
			fmt.Fprintf(e.stdout, "%s\n%s\n", k.Key, k.Image)
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVar(&o.Source, "source", "", "kernel source tree DIR, TARBALL, https URL#sha256=HEX, or git+URL#REF (default "+kernel.DefaultSource+")")
	fl.StringVar(&o.SHA256, "sha256", "", "SHA-256 of a tarball URL given without #sha256=")
	fl.IntVarP(&o.Jobs, "jobs", "j", 0, "parallel make jobs (default: one per CPU)")
	fl.BoolVar(&o.Force, "force", false, "rebuild even if the cache has this kernel")
	fl.StringVar(&o.WorkDir, "work-dir", "", "parent of the temporary build directory (default: the system temp dir; needs ~1.5 GB)")
	addOutDirFlag(c, &outDir)
	return c
}
