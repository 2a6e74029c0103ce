package main

import (
	"github.com/spf13/cobra"

	"github.com/ktstr-go/ktstr/tools/internal/export"
)

func init() {
	register("", func(*env) *cobra.Command {
		// ktstr registers the tests it runs, so it is the test binary an
		// export packs: no source tree or Go toolchain needed.
		c := export.NewCommand("export", export.CommandConfig{SelfTests: true})
		c.GroupID = groupTest
		return c
	})
}
