package watchdog

import (
	"errors"
	"fmt"
	"time"

	"github.com/cilium/ebpf/btf"
)

// MaxTimeout is the longest watchdog timeout sched_ext accepts
// (SCX_WATCHDOG_MAX_TIMEOUT); it is also what a scheduler gets that asks
// for none.
const MaxTimeout = 30 * time.Second

// The kernel types the rewrite needs.
const (
	valueTypeName = "bpf_struct_ops_sched_ext_ops"
	opsTypeName   = "sched_ext_ops"
)

// Layout locates the fields of a sched_ext struct_ops map value (struct
// bpf_struct_ops_sched_ext_ops: a common header, then the struct
// sched_ext_ops as "data").
type Layout struct {
	// ValueSize is the size of the whole value, which is also the
	// struct_ops map's value_size: it tells a sched_ext ops map from other
	// struct_ops maps (TCP congestion control, HID).
	ValueSize uint32
	// TimeoutOff and NameOff are the offsets of data.timeout_ms (u32) and
	// data.name (char[NameLen]) in the value.
	TimeoutOff, NameOff, NameLen int
}

// KernelLayout reads the layout from the running kernel's BTF.
func KernelLayout() (Layout, error) {
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return Layout{}, fmt.Errorf("loading the kernel's BTF (needs CONFIG_DEBUG_INFO_BTF): %w", err)
	}
	return LayoutFrom(spec)
}

// LayoutFrom reads the layout from a kernel's BTF.
func LayoutFrom(spec *btf.Spec) (Layout, error) {
	var value *btf.Struct
	if err := spec.TypeByName(valueTypeName, &value); err != nil {
		return Layout{}, fmt.Errorf("kernel BTF has no struct %s (is CONFIG_SCHED_CLASS_EXT on?): %w", valueTypeName, err)
	}
	data, ok := member(value, "data")
	if !ok {
		return Layout{}, fmt.Errorf("struct %s has no member data", valueTypeName)
	}
	ops, ok := btf.UnderlyingType(data.Type).(*btf.Struct)
	if !ok || ops.Name != opsTypeName {
		return Layout{}, fmt.Errorf("%s.data is not a struct %s", valueTypeName, opsTypeName)
	}
	timeout, ok := member(ops, "timeout_ms")
	if !ok {
		return Layout{}, errors.New("struct sched_ext_ops has no timeout_ms: this kernel's sched_ext has no per-scheduler watchdog timeout")
	}
	name, ok := member(ops, "name")
	if !ok {
		return Layout{}, errors.New("struct sched_ext_ops has no name")
	}
	arr, ok := btf.UnderlyingType(name.Type).(*btf.Array)
	if !ok {
		return Layout{}, errors.New("sched_ext_ops.name is not an array")
	}
	base := int(data.Offset.Bytes())
	return Layout{
		ValueSize:  value.Size,
		TimeoutOff: base + int(timeout.Offset.Bytes()),
		NameOff:    base + int(name.Offset.Bytes()),
		NameLen:    int(arr.Nelems),
	}, nil
}

// String is the layout's command-line form, "VALUESIZE:TIMEOUT:NAME:NAMELEN".
func (l Layout) String() string {
	return fmt.Sprintf("%d:%d:%d:%d", l.ValueSize, l.TimeoutOff, l.NameOff, l.NameLen)
}

// ParseLayout reads Layout.String's form.
func ParseLayout(s string) (Layout, error) {
	var l Layout
	if n, err := fmt.Sscanf(s, "%d:%d:%d:%d", &l.ValueSize, &l.TimeoutOff, &l.NameOff, &l.NameLen); err != nil || n != 4 {
		return Layout{}, fmt.Errorf("ops layout %q: want VALUESIZE:TIMEOUT:NAME:NAMELEN", s)
	}
	if l.TimeoutOff+4 > int(l.ValueSize) || l.NameOff+l.NameLen > int(l.ValueSize) || l.TimeoutOff < 0 || l.NameOff < 0 {
		return Layout{}, fmt.Errorf("ops layout %q: fields outside the %d-byte value", s, l.ValueSize)
	}
	return l, nil
}

// VmlinuxLayout reads the layout from a kernel image's vmlinux (its .BTF),
// so a guest need not parse its own BTF.
func VmlinuxLayout(vmlinux string) (Layout, error) {
	spec, err := btf.LoadSpec(vmlinux)
	if err != nil {
		return Layout{}, fmt.Errorf("loading BTF from %s: %w", vmlinux, err)
	}
	return LayoutFrom(spec)
}

func member(s *btf.Struct, name string) (btf.Member, bool) {
	for _, m := range s.Members {
		if m.Name == name {
			return m, true
		}
	}
	return btf.Member{}, false
}
