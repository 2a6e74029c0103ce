package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ktstr-go/ktstr/kernel"
)

func init() { register("kernel", newKernelPullCmd) }

func newKernelPullCmd(e *env) *cobra.Command {
	var (
		insecure bool
		outDir   string
	)
	c := &cobra.Command{
		Use:               "pull REF",
		Short:             "Pull a kernel from an OCI registry into the cache",
		Example:           "  ktstr kernel pull ghcr.io/me/kernels:6.12.118",
		Args:              positional("REF"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(c *cobra.Command, args []string) error {
			cache, err := openCache(e)
			if err != nil {
				return err
			}
			en, err := cache.Pull(c.Context(), args[0], insecure)
			if err != nil {
				return err
			}
			if outDir != "" {
				k := &kernel.Kernel{Image: en.Image, Vmlinux: en.Vmlinux, Config: en.Config, MetadataFile: en.MetadataFile}
				if err := exportKernel(k, outDir); err != nil {
					return err
				}
			}
			fmt.Fprintf(e.stdout, "%s\n%s\n", en.Key, strings.TrimSpace(en.Image))
			return nil
		},
	}
	addInsecureFlag(c, &insecure)
	addOutDirFlag(c, &outDir)
	return c
}
