// Package cachedir names ktstr-go's per-user cache directories: kernels,
// schedulers, initramfs archives, config files and kernel sources all live
// under one <user cache>/ktstr, so one place says where.
package cachedir

import (
	"os"
	"path/filepath"
)

// Dir is <user cache>/ktstr/sub: $XDG_CACHE_HOME, else ~/.cache, else (a
// host without a home) the temp dir.
func Dir(sub string) string {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "ktstr", sub)
}
