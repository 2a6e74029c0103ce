package ktstr

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// resolveKernel finds the bzImage to boot. TEMPORARY: a path in spec or
// KTSTR_KERNEL; replaced by kernel.Resolve.
func resolveKernel(ctx context.Context, spec string) (string, error) {
	if spec == "" {
		spec = strings.TrimSpace(os.Getenv("KTSTR_KERNEL"))
	}
	if spec == "" {
		return "", fmt.Errorf("%w", ErrNoKernel)
	}
	st, err := os.Stat(spec)
	if err != nil {
		return "", err
	}
	if st.IsDir() {
		return filepath.Join(spec, "arch/x86/boot/bzImage"), nil
	}
	return spec, nil
}

// ErrNoKernel TEMPORARY.
var ErrNoKernel = fmt.Errorf("no kernel found")
