package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func init() { register("kernel", newKernelPushCmd) }

func newKernelPushCmd(e *env) *cobra.Command {
	var insecure bool
	c := &cobra.Command{
		Use:               "push KEY REF",
		Short:             "Push a cached kernel to an OCI registry",
		Example:           "  ktstr kernel push 6.12.118-tarball-x86_64-kce525dbc3 ghcr.io/me/kernels:6.12.118",
		Args:              positional("KEY", "REF"),
		ValidArgsFunction: completeCacheKeys,
		RunE: func(c *cobra.Command, args []string) error {
			cache, err := openCache(e)
			if err != nil {
				return err
			}
			d, err := cache.Push(c.Context(), args[0], args[1], insecure)
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, d)
			return nil
		},
	}
	addInsecureFlag(c, &insecure)
	return c
}
