package ktstr

import (
	"context"

	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr/kernel"
)

// ErrNoKernel is returned when no kernel can be found; tests skip on it.
// Its message carries the KTSTR_KERNEL hint.
var ErrNoKernel = kernel.ErrNotFound

// resolveKernel finds the kernel to boot: spec (a test's or the caller's
// override) wins, then KTSTR_KERNEL, the cache, local trees, host paths.
// Its Vmlinux, when there is one, lets the monitor read the guest.
func resolveKernel(ctx context.Context, spec string, log *zap.Logger) (*kernel.Kernel, error) {
	return kernel.Resolve(ctx, kernel.ResolveOptions{Spec: spec, Logger: log})
}
