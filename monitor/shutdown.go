package monitor

import (
	"fmt"

	"github.com/cilium/ebpf/btf"
)

// shutdownStates are the values of the guest kernel's enum system_states
// that kernel_halt, kernel_power_off and kernel_restart set before they
// stop the other CPUs. From then on a CPU whose clock stands still with
// tasks queued is being stopped, not stalled.
type shutdownStates struct {
	size   uint32
	values map[uint64]string
}

// loadShutdownStates reads the values from BTF; a kernel without the enum
// yields none, and shutdown goes undetected (sampling still ends when the
// VM does).
func loadShutdownStates(spec *btf.Spec) shutdownStates {
	var e *btf.Enum
	if err := spec.TypeByName("system_states", &e); err != nil {
		return shutdownStates{}
	}
	if e.Size == 0 || e.Size > 8 {
		return shutdownStates{}
	}
	st := shutdownStates{size: e.Size, values: map[uint64]string{}}
	for _, v := range e.Values {
		switch v.Name {
		case "SYSTEM_HALT", "SYSTEM_POWER_OFF", "SYSTEM_RESTART":
			st.values[v.Value] = v.Name
		}
	}
	return st
}

// ShuttingDown reports whether the guest kernel has begun to halt, power
// off or reboot, and which of them (SYSTEM_HALT, SYSTEM_POWER_OFF or
// SYSTEM_RESTART). It is false for a kernel whose vmlinux does not say
// where system_state is.
func (g *Guest) ShuttingDown() (string, bool, error) {
	if len(g.k.shutdown.values) == 0 {
		return "", false, nil
	}
	var b [8]byte
	pa := text(g.k.syms.systemState)
	if _, err := g.mem.ReadAt(b[:g.k.shutdown.size], int64(pa)); err != nil {
		return "", false, fmt.Errorf("reading system_state at %#x: %w", pa, err)
	}
	name, ok := g.k.shutdown.values[littleEndian(b[:g.k.shutdown.size])]
	return name, ok, nil
}
