package qemu

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/ktstr-go/ktstr/vmm"
)

// VCPUTimes splits QEMU's total CPU time evenly over the vCPUs: under
// single-threaded TCG one thread runs every vCPU in turn, so no thread is
// one vCPU's; the even split is that round robin's share.
func (m *machine) VCPUTimes() ([]time.Duration, error) {
	if m.cmd.Process == nil || m.cpus == 0 {
		return nil, fmt.Errorf("vmm: qemu is not running")
	}
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", m.cmd.Process.Pid))
	if err != nil || len(tasks) == 0 {
		return nil, fmt.Errorf("vmm: no threads of qemu (pid %d) in /proc", m.cmd.Process.Pid)
	}
	var total time.Duration
	for _, t := range tasks {
		d, err := vmm.ThreadRunTime(t)
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
