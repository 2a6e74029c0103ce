package kernel

import (
	"context"
	"fmt"
	"os"
)

// EnvVmlinux names the environment variable that points at the vmlinux
// (symbols and BTF) of the kernel under test, overriding FindVmlinux's
// search.
const EnvVmlinux = "KTSTR_VMLINUX"

// FindVmlinux returns the vmlinux of the kernel under test, for BTF
// (vmlinux.h, layout checks) and symbols: $KTSTR_VMLINUX, else the one
// that goes with the kernel Resolve picks (Kernel.Vmlinux: a cache
// entry's, a build tree's, or one beside an image file). Like Resolve, it
// never builds or pulls; errors wrap ErrNotFound when no kernel is found.
func FindVmlinux(ctx context.Context) (string, error) {
	if v := os.Getenv(EnvVmlinux); v != "" {
		if !isFile(v) {
			return "", fmt.Errorf("%s=%s: no such file", EnvVmlinux, v)
		}
		return v, nil
	}
	k, err := Resolve(ctx, ResolveOptions{})
	if err != nil {
		return "", fmt.Errorf("finding the vmlinux of the kernel under test: %w", err)
	}
	if k.Vmlinux != "" {
		return k.Vmlinux, nil
	}
	return "", fmt.Errorf("kernel %s (%s) has no vmlinux with it: set %s=/path/to/vmlinux, or use a cached kernel (`ktstr kernel build`)",
		k.Image, k.Source, EnvVmlinux)
}
