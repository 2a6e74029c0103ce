package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ktstr-go/ktstr/kernel"
)

func init() { register("", newKernelCmd) }

func newKernelCmd(*env) *cobra.Command {
	return &cobra.Command{
		Use:   "kernel",
		Short: "Build, list, clean, push and pull cached sched_ext kernels",
		Long: `The kernel cache holds sched_ext kernels built with the embedded kconfig, keyed
by source and kconfig hash, in ` + "$KTSTR_CACHE_DIR" + ` (default $XDG_CACHE_HOME/ktstr/kernels or
~/.cache/ktstr/kernels). A kernel costs 12-40 minutes to build: ` + "`kernel clean`" + `
lists what it would remove unless told --force (or confirmed on a terminal).`,
		GroupID: groupSupply,
		Args:    subcommandArgs,
		RunE:    missingSubcommand,
	}
}

// exportKernel places a kernel's files in dir under their artifact names,
// hard-linked from the cache when on the same file system (exportFile:
// never a partial file).
func exportKernel(k *kernel.Kernel, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range []struct{ src, name string }{
		{k.Image, kernel.FileImage}, {k.Vmlinux, kernel.FileVmlinux}, {k.Config, kernel.FileConfig}, {k.MetadataFile, kernel.FileMetadata},
	} {
		if f.src == "" {
			continue
		}
		if err := exportFile(f.src, filepath.Join(dir, f.name)); err != nil {
			return fmt.Errorf("placing %s in %s: %w", f.name, dir, err)
		}
	}
	return nil
}

// addOutDirFlag is --out-dir of kernel build and pull.
func addOutDirFlag(c *cobra.Command, p *string) {
	c.Flags().StringVar(p, "out-dir", "", "also place bzImage, vmlinux, config and metadata.json in `DIR` (hard links when possible)")
	_ = c.MarkFlagDirname("out-dir")
}

// addInsecureFlag is --insecure of the commands that talk to a registry.
func addInsecureFlag(c *cobra.Command, p *bool) {
	c.Flags().BoolVar(p, "insecure", false, "allow a plain-HTTP registry")
}

// openCache opens the kernel cache ($KTSTR_CACHE_DIR or the default).
func openCache(e *env) (*kernel.Cache, error) {
	return kernel.OpenCache("", e.logger())
}
