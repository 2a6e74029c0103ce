// Command export writes a self-extracting .run script that reproduces one
// registered ktstr test on bare metal:
//
//	bazel run //tools:export -- NAME [-o PATH] [--quiet] [--test-binary PATH]
//	bazel run //tools:export -- --list
//
// It is `ktstr export` under another name, for Bazel users.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ktstr-go/ktstr/tools/internal/export"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := export.Command(ctx, "export", os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
