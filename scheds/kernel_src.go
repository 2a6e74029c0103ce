package scheds

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr/internal/cachedir"
	"github.com/ktstr-go/ktstr/kernel"
)

// FindKernelSrc returns a kernel source tree with tools/sched_ext, for the
// kernel-tree schedulers: $KTSTR_KERNEL_SRC, else the default kernel
// source tarball (kernel.DefaultSource, Debian's linux-source-6.12, the
// one the default kernel is built from) extracted beside it by hand, else
// extracted once into <user cache>/ktstr/src. The extraction is atomic (a
// temp directory renamed into place): an interrupted one leaves nothing
// half-written.
func FindKernelSrc(ctx context.Context, log *zap.Logger) (string, error) {
	if s := os.Getenv(EnvKernelSrc); s != "" {
		if !hasSchedExt(s) {
			return "", fmt.Errorf("%s=%s has no tools/sched_ext/Makefile: point it at a kernel source tree (6.12 or later)", EnvKernelSrc, s)
		}
		return s, nil
	}
	return extractedSrc(ctx, log, kernel.DefaultSource, cachedir.Dir("src"))
}

// extractedSrc returns tarball's tree, extracted into dir unless it
// already is (there, or beside the tarball).
func extractedSrc(ctx context.Context, log *zap.Logger, tarball, dir string) (string, error) {
	if log == nil {
		log = zap.NewNop()
	}
	name := strings.TrimSuffix(filepath.Base(tarball), ".tar.xz")
	if beside := filepath.Join(filepath.Dir(tarball), name); hasSchedExt(beside) {
		return beside, nil // extracted in place by hand
	}
	dst := filepath.Join(dir, name)
	if hasSchedExt(dst) {
		return dst, nil
	}
	if _, err := os.Stat(tarball); err != nil {
		return "", fmt.Errorf("no kernel source with tools/sched_ext: install %s (apt-get install linux-source-6.12, or tools/setup/install-deps.sh) or set %s to a source tree",
			tarball, EnvKernelSrc)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("kernel source cache: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, ".extract-")
	if err != nil {
		return "", fmt.Errorf("kernel source cache: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	log.Info("extracting kernel source for the kernel-tree schedulers (once per machine)", zap.String("tarball", tarball), zap.String("dir", dst))
	if out, err := exec.CommandContext(ctx, "tar", "-xf", tarball, "-C", tmp, "--strip-components=1").CombinedOutput(); err != nil {
		return "", fmt.Errorf("extracting %s: %w: %s", tarball, err, strings.TrimSpace(string(out)))
	}
	if !hasSchedExt(tmp) {
		return "", fmt.Errorf("%s has no tools/sched_ext: it predates sched_ext (6.12); set %s to a newer source tree", tarball, EnvKernelSrc)
	}
	if err := os.Rename(tmp, dst); err != nil {
		if hasSchedExt(dst) { // another process got there first
			return dst, nil
		}
		return "", fmt.Errorf("kernel source cache: %w", err)
	}
	return dst, nil
}

func hasSchedExt(tree string) bool {
	st, err := os.Stat(filepath.Join(tree, "tools/sched_ext/Makefile"))
	return err == nil && st.Mode().IsRegular()
}
