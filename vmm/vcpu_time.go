package vmm

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// VCPUTimer is implemented by machines that can tell how much host CPU
// time each vCPU has had. The monitor uses it to tell a guest CPU that
// stopped ticking from one the host did not run.
type VCPUTimer interface {
	// VCPUTimes returns each vCPU's host CPU time so far, indexed by
	// vCPU; zero where it is unknown.
	VCPUTimes() ([]time.Duration, error)
}

// VCPUTimes reads each vCPU thread's run time from the kernel's
// schedstat. A vCPU whose thread has left its run loop reads as zero.
func (m *kvmMachine) VCPUTimes() ([]time.Duration, error) {
	out := make([]time.Duration, len(m.vcpus))
	for i, v := range m.vcpus {
		v.mu.Lock()
		tid := v.tid
		var err error
		if tid != 0 {
			out[i], err = threadRunTime(fmt.Sprintf("/proc/self/task/%d/schedstat", tid))
		}
		v.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// VCPUTimes splits QEMU's total CPU time evenly over the vCPUs: under
// single-threaded TCG one thread runs every vCPU in turn, so no thread is
// one vCPU's; the even split is that round robin's share.
func (m *qemuMachine) VCPUTimes() ([]time.Duration, error) {
	if m.cmd.Process == nil || m.cpus == 0 {
		return nil, fmt.Errorf("vmm: qemu is not running")
	}
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", m.cmd.Process.Pid))
	if err != nil || len(tasks) == 0 {
		return nil, fmt.Errorf("vmm: no threads of qemu (pid %d) in /proc", m.cmd.Process.Pid)
	}
	var total time.Duration
	for _, t := range tasks {
		d, err := threadRunTime(t)
		if err != nil {
			continue // a thread that exited since the glob
		}
		total += d
	}
	out := make([]time.Duration, m.cpus)
	for i := range out {
		out[i] = total / time.Duration(m.cpus)
	}
	return out, nil
}

// threadRunTime reads the first field of a /proc schedstat file: time
// spent on a CPU, in ns.
func threadRunTime(path string) (time.Duration, error) {
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
