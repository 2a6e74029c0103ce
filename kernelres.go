package ktstr

import (
	"context"

	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr/kernel"
)

// ErrNoKernel is returned when no kernel can be found; tests skip on it.
// Its message carries the KTSTR_KERNEL hint.
var ErrNoKernel = kernel.ErrNotFound

// resolveKernel finds the bzImage to boot: spec (a test's or the caller's
// override) wins, then KTSTR_KERNEL, the cache, local trees, host paths.
func resolveKernel(ctx context.Context, spec string, log *zap.Logger) (string, error) {
	k, err := kernel.Resolve(ctx, kernel.ResolveOptions{Spec: spec, Logger: log})
	if err != nil {
		return "", err
	}
	return k.Image, nil
}
