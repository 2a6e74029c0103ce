package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ktstr-go/ktstr/kernel"
)

func init() { register("kernel", newKernelPathCmd) }

func newKernelPathCmd(e *env) *cobra.Command {
	var insecure bool
	c := &cobra.Command{
		Use:   "path [ID]",
		Short: "Print the bzImage a kernel identifier resolves to (default: $KTSTR_KERNEL, then the cache)",
		Long: `Prints the bzImage path the identifier resolves to, as a run would boot it.
ID is a bzImage or build tree, a cached version (6.12 takes the newest cached
6.12.x), a cache key or an OCI reference (pulled into the cache if needed).`,
		Args:              positional("[ID]"),
		ValidArgsFunction: completeKernels,
		RunE: func(c *cobra.Command, args []string) error {
			o := kernel.ResolveOptions{Insecure: insecure, Logger: e.logger()}
			if len(args) == 1 {
				o.Spec = args[0]
			}
			k, err := kernel.Resolve(c.Context(), o)
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, k.Image)
			return nil
		},
	}
	addInsecureFlag(c, &insecure)
	return c
}
