package probe

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// Table is what the probes need to know of a kernel's types, taken from
// its BTF: the parameters of the kernel functions the specs name, those
// of sched_ext's callbacks, and where a kprobe finds the argument
// registers. The host builds it from the kernel's vmlinux
// (VmlinuxTable) and packs it with the run, so the guest never parses
// its own BTF (0.3-0.5 s under emulation, added to every probed run's
// wall time); a guest given none builds it from /sys/kernel/btf/vmlinux.
type Table struct {
	// Funcs are the kernel functions the kernel's BTF describes, by name.
	Funcs map[string][]Param `json:"funcs,omitempty"`
	// Ops are the callbacks of struct sched_ext_ops, by member name.
	Ops map[string][]Param `json:"ops,omitempty"`
	// Regs are the offsets in struct pt_regs of the x86-64 argument
	// registers, in order.
	Regs []int16 `json:"regs,omitempty"`
}

// Param is one parameter of a function, and how a probe records it.
type Param struct {
	Name string `json:"name"`
	Show Show   `json:"show"`
	// DerefOff, when DerefSize is not 0, records the DerefSize-byte
	// field at that offset of what the parameter points at (a task's
	// pid, a runqueue's CPU) instead of the pointer.
	DerefOff  int32 `json:"deref_off,omitempty"`
	DerefSize int32 `json:"deref_size,omitempty"`
}

// Show says how a recorded value is written.
type Show struct {
	// Kind is "int", "uint", "bool", "enum", "pid", "cpu", "dsq" (a
	// dispatch queue ID), or "" for hex.
	Kind string `json:"kind,omitempty"`
	// Bits is the width of an integer or an enum.
	Bits int `json:"bits,omitempty"`
	// Names are an enum's values.
	Names map[uint64]string `json:"names,omitempty"`
}

// x86-64 argument registers, in order, as struct pt_regs names them.
var argRegs = []string{"di", "si", "dx", "cx", "r8", "r9"}

// derefs are the pointer parameters recorded by what they point at: a
// task by its pid, a runqueue by its CPU, a dispatch queue by its ID.
var derefs = map[string]struct{ field, kind string }{
	"task_struct":    {"pid", "pid"},
	"rq":             {"cpu", "cpu"},
	"scx_dispatch_q": {"id", "dsq"},
}

// VmlinuxTable reads the BTF of a kernel's vmlinux (an ELF file) and
// builds the Table for specs.
func VmlinuxTable(vmlinux string, specs []Spec) (*Table, error) {
	kspec, err := btf.LoadSpec(vmlinux)
	if err != nil {
		return nil, fmt.Errorf("probes: the BTF of %s: %w", vmlinux, err)
	}
	return NewTable(kspec, specs), nil
}

// NewTable builds the Table for specs from a kernel's BTF.
func NewTable(kspec *btf.Spec, specs []Spec) *Table {
	t := &Table{Funcs: map[string][]Param{}, Ops: map[string][]Param{}}
	for _, s := range specs {
		var fn *btf.Func
		if s.Func == AllCallbacks || kspec.TypeByName(s.Func, &fn) != nil {
			continue
		}
		if proto, ok := fn.Type.(*btf.FuncProto); ok {
			t.Funcs[s.Func] = paramsOf(proto.Params)
		}
	}
	var ops *btf.Struct
	if kspec.TypeByName("sched_ext_ops", &ops) == nil {
		for _, m := range ops.Members {
			ptr, ok := m.Type.(*btf.Pointer)
			if !ok {
				continue
			}
			if proto, ok := ptr.Target.(*btf.FuncProto); ok {
				t.Ops[m.Name] = paramsOf(namedParams(kspec, m.Name, proto.Params))
			}
		}
	}
	var regs *btf.Struct
	if kspec.TypeByName("pt_regs", &regs) == nil {
		for _, name := range argRegs {
			if i := slices.IndexFunc(regs.Members, func(m btf.Member) bool { return m.Name == name }); i >= 0 {
				t.Regs = append(t.Regs, int16(regs.Members[i].Offset/8))
			}
		}
	}
	return t
}

// namedParams gives a sched_ext_ops member's parameters their names.
// BTF keeps no names for a function pointer's parameters, but the
// kernel's CFI stub of each member has them: <member>_stub in Linux
// 6.12, sched_ext_ops__<member> later.
func namedParams(kspec *btf.Spec, member string, params []btf.FuncParam) []btf.FuncParam {
	for _, stub := range []string{"sched_ext_ops__" + member, member + "_stub"} {
		var fn *btf.Func
		if kspec.TypeByName(stub, &fn) != nil {
			continue
		}
		if proto, ok := fn.Type.(*btf.FuncProto); ok && len(proto.Params) == len(params) {
			return proto.Params
		}
	}
	return params
}

// opsParams finds the sched_ext_ops member a callback implements, by the
// sched_ext convention of naming it <scheduler>_<member>: the longest
// member name that ends the callback's name.
func (t *Table) opsParams(fn string) []Param {
	best := ""
	var params []Param
	for name, ps := range t.Ops {
		if strings.HasSuffix(fn, "_"+name) && len(name) > len(best) {
			best, params = name, ps
		}
	}
	return params
}

func paramsOf(ps []btf.FuncParam) []Param {
	out := make([]Param, len(ps))
	for i, p := range ps {
		out[i] = paramFor(p.Name, p.Type)
	}
	return out
}

// paramFor plans a parameter of type typ (nil: unknown).
func paramFor(name string, typ btf.Type) Param {
	p := Param{Name: name}
	switch t := btf.UnderlyingType(typ).(type) {
	case *btf.Int:
		p.Show = Show{Kind: "uint", Bits: 8 * int(min(t.Size, 8))}
		switch {
		case t.Encoding&btf.Bool != 0:
			p.Show.Kind = "bool"
		case t.Encoding&btf.Signed != 0:
			p.Show.Kind = "int"
		}
	case *btf.Enum:
		p.Show = Show{Kind: "enum", Bits: 8 * int(min(t.Size, 8)), Names: map[uint64]string{}}
		for _, e := range t.Values {
			if _, dup := p.Show.Names[e.Value]; !dup {
				p.Show.Names[e.Value] = e.Name
			}
		}
	case *btf.Pointer:
		st, ok := btf.UnderlyingType(t.Target).(*btf.Struct)
		if !ok {
			break
		}
		d, ok := derefs[st.Name]
		if !ok {
			break
		}
		if off, size, err := fieldOffset(st, d.field); err == nil {
			p.DerefOff, p.DerefSize, p.Show = off, size, Show{Kind: d.kind}
		}
	}
	if strings.Contains(name, "dsq_id") {
		p.Show = Show{Kind: "dsq"}
	}
	return p
}

// fieldOffset finds a scalar member of a struct.
func fieldOffset(st *btf.Struct, name string) (int32, int32, error) {
	for _, m := range st.Members {
		if m.Name != name || m.BitfieldSize != 0 {
			continue
		}
		size, err := btf.Sizeof(m.Type)
		if err != nil {
			return 0, 0, err
		}
		return int32(m.Offset / 8), int32(size), nil
	}
	return 0, 0, fmt.Errorf("struct %s has no %s", st.Name, name)
}

// render is how a value of this Show is written.
func (s Show) render() func(uint64) string {
	mask := func(v uint64) uint64 {
		if s.Bits > 0 && s.Bits < 64 {
			v &= 1<<s.Bits - 1
		}
		return v
	}
	switch s.Kind {
	case "uint":
		return func(v uint64) string { return strconv.FormatUint(mask(v), 10) }
	case "int":
		return func(v uint64) string {
			bits := cmpOr(s.Bits, 64)
			return strconv.FormatInt(int64(v<<(64-bits))>>(64-bits), 10)
		}
	case "bool":
		return func(v uint64) string { return strconv.FormatBool(mask(v) != 0) }
	case "enum":
		return func(v uint64) string {
			if name, ok := s.Names[mask(v)]; ok {
				return name
			}
			return strconv.FormatUint(mask(v), 10)
		}
	case "pid":
		return func(v uint64) string { return "pid " + strconv.FormatInt(int64(int32(v)), 10) }
	case "cpu":
		return func(v uint64) string { return "cpu" + strconv.FormatInt(int64(int32(v)), 10) }
	case "dsq":
		return dsqText
	}
	return hexText
}

func cmpOr[T comparable](a, b T) T {
	var zero T
	if a != zero {
		return a
	}
	return b
}

func hexText(v uint64) string { return fmt.Sprintf("%#x", v) }

// Built-in dispatch queue IDs (enum scx_dsq_id_flags).
const (
	dsqBuiltin = 1 << 63
	dsqLocalOn = 1 << 62
)

// dsqText names a dispatch queue ID as sched_ext's headers do.
func dsqText(id uint64) string {
	switch {
	case id == dsqBuiltin|1:
		return "SCX_DSQ_GLOBAL"
	case id == dsqBuiltin|2:
		return "SCX_DSQ_LOCAL"
	case id&(dsqBuiltin|dsqLocalOn) == dsqBuiltin|dsqLocalOn:
		return fmt.Sprintf("SCX_DSQ_LOCAL_ON|%d", uint32(id))
	case id&dsqBuiltin != 0:
		return fmt.Sprintf("builtin %#x", id)
	}
	return fmt.Sprintf("%#x", id)
}
