package gauntlet

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/ktstr-go/ktstr"
)

// EnvParallelism sets how many gauntlet VMs run at once (go test, `ktstr
// gauntlet`; Bazel takes --local_test_jobs). Unset or 0: DefaultParallelism.
const EnvParallelism = "KTSTR_PARALLELISM"

// vmOverheadMB is a VM's host memory beyond its guest RAM: QEMU itself,
// the initramfs and the page tables (about 150 MB measured for qemu-tcg;
// rounded up).
const vmOverheadMB = 256

// DefaultParallelism is how many VMs the host can run at once without
// starving them: one per CPU (a single-threaded TCG VM keeps one host
// CPU busy; with KVM each vCPU does, so fewer fit), capped by the VMs'
// memory (DefaultMemoryMB + overhead each) in MemAvailable. At least 1.
func DefaultParallelism() int {
	n := runtime.NumCPU()
	if avail, err := memAvailableMB(); err == nil {
		if m := int(avail / (ktstr.DefaultMemoryMB + vmOverheadMB)); m < n {
			n = m
		}
	}
	return max(n, 1)
}

// Parallelism is the knob: an explicit n > 0, else KTSTR_PARALLELISM,
// else DefaultParallelism. A malformed KTSTR_PARALLELISM is an error.
func Parallelism(n int) (int, error) {
	if n > 0 {
		return n, nil
	}
	if v := strings.TrimSpace(os.Getenv(EnvParallelism)); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 0 {
			return 0, fmt.Errorf("%s=%q: want a number of VMs (0 for the default, %d here)", EnvParallelism, v, DefaultParallelism())
		}
		if p > 0 {
			return p, nil
		}
	}
	return DefaultParallelism(), nil
}

func memAvailableMB() (int64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/meminfo MemAvailable %q: %w", rest, err)
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("/proc/meminfo has no MemAvailable")
}
