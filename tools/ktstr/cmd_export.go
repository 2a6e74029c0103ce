package main

import (
	"context"
	"os"

	"github.com/ktstr-go/ktstr/tools/internal/export"
)

func init() {
	register("export", "write a self-extracting .run script that reproduces a test on bare metal",
		func(ctx context.Context, args []string) int {
			return export.Command(ctx, "ktstr export", args, os.Stdout, os.Stderr)
		})
}
