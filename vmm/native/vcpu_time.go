package native

import (
	"fmt"
	"time"

	"github.com/ktstr-go/ktstr/vmm"
)

// VCPUTimes reads each vCPU thread's run time from the kernel's
// schedstat. A vCPU whose thread has left its run loop reads as zero.
func (m *machine) VCPUTimes() ([]time.Duration, error) {
	out := make([]time.Duration, len(m.vcpus))
	for i, v := range m.vcpus {
		v.mu.Lock()
		tid := v.tid
		var err error
		if tid != 0 {
			out[i], err = vmm.ThreadRunTime(fmt.Sprintf("/proc/self/task/%d/schedstat", tid))
		}
		v.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
