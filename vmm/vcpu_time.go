package vmm

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// ThreadRunTime reads the first field of a /proc schedstat file (of a
// thread, /proc/PID/task/TID/schedstat): the time it spent on a CPU.
// Backends build their VCPUTimes on it.
func ThreadRunTime(path string) (time.Duration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("vmm: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, fmt.Errorf("vmm: %s is empty", path)
	}
	ns, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("vmm: %s: %w", path, err)
	}
	return time.Duration(ns), nil
}
