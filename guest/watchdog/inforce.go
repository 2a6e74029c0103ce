package watchdog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cilium/ebpf"
)

// InForce returns the watchdog timeout the kernel took from the attached
// scheduler whose ops name is ops: the timeout_ms of its struct_ops map's
// value as the kernel holds it, or MaxTimeout when that is 0. It needs
// root (it walks every BPF map on the machine) and the kernel's BTF.
func InForce(ops string) (time.Duration, error) {
	l, err := KernelLayout()
	if err != nil {
		return 0, err
	}
	return InForceWith(ops, l)
}

// InForceWith is InForce with the layout known (e.g. read by the host
// from the kernel's vmlinux).
func InForceWith(ops string, l Layout) (time.Duration, error) {
	var (
		found bool
		ms    uint32
		id    ebpf.MapID
	)
	for {
		next, err := ebpf.MapGetNextID(id)
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("listing BPF maps: %w", err)
		}
		id = next
		v, ok := opsValue(id, l)
		if !ok || cstring(v[l.NameOff:l.NameOff+l.NameLen]) != ops {
			continue
		}
		// IDs grow: the last match is the newest registration.
		found, ms = true, binary.NativeEndian.Uint32(v[l.TimeoutOff:])
	}
	if !found {
		return 0, fmt.Errorf("no sched_ext struct_ops map of scheduler %q among the loaded BPF maps", ops)
	}
	if ms == 0 {
		return MaxTimeout, nil
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// opsValue reads map id's value if it is a sched_ext struct_ops map.
func opsValue(id ebpf.MapID, l Layout) ([]byte, bool) {
	m, err := ebpf.NewMapFromID(id)
	if err != nil {
		return nil, false // freed meanwhile, or not ours to open
	}
	defer m.Close()
	if m.Type() != ebpf.StructOpsMap || m.ValueSize() != l.ValueSize {
		return nil, false
	}
	v := make([]byte, l.ValueSize)
	if err := m.Lookup(uint32(0), &v); err != nil {
		return nil, false
	}
	return v, true
}

func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}
