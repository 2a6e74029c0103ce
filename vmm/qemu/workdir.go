package qemu

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// machineWorkDir returns dir (or a new temp dir, preferring tmpfs so guest
// RAM files cost no disk I/O) and a cleanup that removes what it created.
func machineWorkDir(dir string) (string, func(), error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", nil, fmt.Errorf("vmm: creating work dir: %w", err)
		}
		return dir, func() {
			for _, g := range []string{"mem*", "data.sock", "qmp.sock"} {
				ms, _ := filepath.Glob(filepath.Join(dir, g))
				for _, f := range ms {
					os.Remove(f)
				}
			}
		}, nil
	}
	base := ""
	var st unix.Statfs_t
	if unix.Statfs("/dev/shm", &st) == nil && st.Type == unix.TMPFS_MAGIC {
		base = "/dev/shm"
	}
	sweepStaleWorkDirs(base)
	// The owner's pid in the name lets a later run remove the dir if this
	// process is SIGKILLed before its cleanup runs (guest RAM files are big).
	d, err := os.MkdirTemp(base, fmt.Sprintf("ktstr-vm-%d-", os.Getpid()))
	if err != nil {
		return "", nil, fmt.Errorf("vmm: creating work dir: %w", err)
	}
	return d, func() { os.RemoveAll(d) }, nil
}

// sweepStaleWorkDirs removes work dirs whose owning process is gone.
func sweepStaleWorkDirs(base string) {
	if base == "" {
		base = os.TempDir()
	}
	dirs, _ := filepath.Glob(filepath.Join(base, "ktstr-vm-*-*"))
	for _, d := range dirs {
		var pid int
		if _, err := fmt.Sscanf(filepath.Base(d), "ktstr-vm-%d-", &pid); err != nil || pid <= 0 {
			continue
		}
		if unix.Kill(pid, 0) == unix.ESRCH {
			os.RemoveAll(d)
		}
	}
}
