package monitor

import (
	"context"
	"encoding/binary"
	"strings"
	"testing"
	"time"
)

// shutdownKernel is testKernel with system_state at a fixed address and
// the values of enum system_states since Linux 5.x.
var shutdownKernel = func() *Kernel {
	k := *testKernel
	k.syms.systemState = startKernelMap + 0x1c00000
	k.shutdown = shutdownStates{size: 4, values: map[uint64]string{4: "SYSTEM_HALT", 5: "SYSTEM_POWER_OFF", 6: "SYSTEM_RESTART"}}
	return &k
}()

// goingDown is a booted guest whose system_state reads SYSTEM_RUNNING
// (3) the first `running` times and state after that.
type goingDown struct {
	sparseMem
	running, reads int
	state          uint32
}

func (m *goingDown) ReadAt(p []byte, off int64) (int, error) {
	if uint64(off) != text(shutdownKernel.syms.systemState) {
		return m.sparseMem.ReadAt(p, off)
	}
	m.reads++
	v := uint32(3)
	if m.reads > m.running {
		v = m.state
	}
	binary.LittleEndian.PutUint32(p, v)
	return len(p), nil
}

// Sampling ends when the guest kernel starts to go down, before any CPU
// is stopped for it; what was sampled before stays in the report.
func TestRunStopsAtShutdown(t *testing.T) {
	for _, tc := range []struct {
		state uint32
		want  string
	}{{5, "SYSTEM_POWER_OFF"}, {4, "SYSTEM_HALT"}, {6, "SYSTEM_RESTART"}} {
		t.Run(tc.want, func(t *testing.T) {
			mem := &goingDown{sparseMem: bootedGuest(2), running: 4, state: tc.state}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			r := Run(ctx, shutdownKernel, mem, Config{CPUs: 2, Interval: time.Millisecond})
			if r.Shutdown != tc.want || r.ShutdownAt <= 0 || ctx.Err() != nil {
				t.Fatalf("report shutdown %q at %v (ctx %v); want %s seen before the context ended", r.Shutdown, r.ShutdownAt, ctx.Err(), tc.want)
			}
			if len(r.Samples) != 4 || r.Err != "" {
				t.Errorf("%d samples, error %q; want the 4 taken while the guest ran", len(r.Samples), r.Err)
			}
			if got := r.Summarize().String(); !strings.Contains(got, "sampling stopped at") || !strings.Contains(got, "guest in "+tc.want) {
				t.Errorf("summary %q does not say why sampling stopped", got)
			}
		})
	}
	// Any other state (booting, running, suspend) is sampled; a kernel
	// without system_state is sampled until the context ends.
	for _, k := range []*Kernel{shutdownKernel, testKernel} {
		mem := &goingDown{sparseMem: bootedGuest(2), running: 2, state: 7}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		r := Run(ctx, k, mem, Config{CPUs: 2, Interval: time.Millisecond})
		cancel()
		if r.Shutdown != "" || len(r.Samples) < 5 {
			t.Errorf("shutdown %q after %d samples; want sampling to go on", r.Shutdown, len(r.Samples))
		}
	}
}
