package probe

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/ktstr-go/ktstr/guest"
)

// target is one probe resolved in the guest: how to attach it and what
// each recorded argument is.
type target struct {
	fn   string
	fl   flavor
	args []argInfo
	// bpf is the struct_ops program for viaFentryBPF.
	bpf *ebpf.Program
	// kprobeArgs is the plan for falling back from fentry to a kprobe.
	kprobeArgs []argInfo
	// took is how long loading (verifying) and attaching it took.
	took time.Duration
}

// argInfo is one recorded argument and how to render its value.
type argInfo struct {
	name   string
	plan   argPlan
	render func(uint64) string
}

// derefs are the pointer arguments recorded by what they point at: a
// task by its pid, a runqueue by its CPU, a dispatch queue by its ID.
var derefs = map[string]struct {
	field string
	show  func(uint64) string
}{
	"task_struct":    {"pid", func(v uint64) string { return "pid " + strconv.FormatInt(int64(int32(v)), 10) }},
	"rq":             {"cpu", func(v uint64) string { return "cpu" + strconv.FormatInt(int64(int32(v)), 10) }},
	"scx_dispatch_q": {"id", dsqText},
}

// x86-64 argument registers, in order, as struct pt_regs names them.
var argRegs = []string{"di", "si", "dx", "cx", "r8", "r9"}

// resolver knows the guest kernel's BTF and the scheduler's programs.
type resolver struct {
	// cache holds the kernel's BTF, parsed once for the resolver and for
	// every program load (see loadProgram).
	cache *btf.Cache
	kspec *btf.Spec
	ops   *btf.Struct // struct sched_ext_ops: the callbacks' arguments
	regs  []int16     // pt_regs offsets of argRegs
	progs []callback
}

// callback is one of the scheduler's struct_ops programs.
type callback struct {
	name string
	prog *ebpf.Program
}

func newResolver() (*resolver, error) {
	cache := btf.NewCache()
	kspec, err := cache.Kernel()
	if err != nil {
		return nil, fmt.Errorf("the guest kernel's BTF (/sys/kernel/btf/vmlinux): %w", err)
	}
	r := &resolver{cache: cache, kspec: kspec}
	_ = kspec.TypeByName("sched_ext_ops", &r.ops) // absent: callbacks record raw arguments
	var regs *btf.Struct
	if err := kspec.TypeByName("pt_regs", &regs); err == nil {
		for _, name := range argRegs {
			if i := slices.IndexFunc(regs.Members, func(m btf.Member) bool { return m.Name == name }); i >= 0 {
				r.regs = append(r.regs, int16(regs.Members[i].Offset/8))
			}
		}
	}
	return r, nil
}

// loadCallbacks lists the scheduler's struct_ops programs, once it has
// attached.
func (r *resolver) loadCallbacks() error {
	r.close()
	var err error
	if r.progs, err = structOpsPrograms(); err != nil {
		r.close()
	}
	return err
}

// split separates the specs of kernel functions the kernel's BTF knows,
// which can be attached before the scheduler starts, from the rest
// (scheduler callbacks, and functions only a kprobe can reach), which
// wait until it has attached.
func (r *resolver) split(specs []Spec) (kernel, later []Spec) {
	for _, s := range specs {
		var fn *btf.Func
		if s.Func != AllCallbacks && r.kspec.TypeByName(s.Func, &fn) == nil {
			kernel = append(kernel, s)
		} else {
			later = append(later, s)
		}
	}
	return kernel, later
}

func (r *resolver) close() {
	for _, c := range r.progs {
		c.prog.Close()
	}
	r.progs = nil
}

// structOpsPrograms lists the loaded struct_ops programs (the attached
// scheduler's callbacks) by their BTF function names.
func structOpsPrograms() ([]callback, error) {
	var out []callback
	err := guest.Programs(func(p *ebpf.Program) error {
		info, err := p.Info()
		if err != nil || p.Type() != ebpf.StructOps {
			p.Close()
			return nil
		}
		name := info.Name
		if fi, err := info.FuncInfos(); err == nil && len(fi) > 0 {
			name = fi[0].Func.Name // the full name; info.Name is cut at 15
		}
		out = append(out, callback{name: name, prog: p})
		return nil
	})
	return out, err
}

// resolve turns specs into targets; what cannot be probed is Missing.
func (r *resolver) resolve(specs []Spec) ([]target, []Missing) {
	var out []target
	var missing []Missing
	seen := map[string]bool{}
	add := func(t target, err error, fn string) {
		if err != nil {
			missing = append(missing, Missing{Func: fn, Why: err.Error()})
			return
		}
		if !seen[t.fn] {
			seen[t.fn] = true
			out = append(out, t)
		}
	}
	for _, s := range specs {
		if s.Func == AllCallbacks {
			if len(r.progs) == 0 {
				missing = append(missing, Missing{Func: s.Func, Why: "no struct_ops program is loaded (no sched_ext scheduler attached)"})
			}
			for _, c := range r.progs {
				t, err := r.callbackTarget(c, nil)
				add(t, err, c.name)
			}
			continue
		}
		if i := slices.IndexFunc(r.progs, func(c callback) bool { return c.name == s.Func }); i >= 0 {
			t, err := r.callbackTarget(r.progs[i], s.Args)
			add(t, err, s.Func)
			continue
		}
		t, err := r.kernelTarget(s)
		add(t, err, s.Func)
	}
	return out, missing
}

// callbackTarget probes a struct_ops program. Its arguments are those of
// the sched_ext_ops member it implements, found by name: a callback
// called <scheduler>_<member> (the sched_ext convention).
func (r *resolver) callbackTarget(c callback, want []string) (target, error) {
	params := r.opsParams(c.name)
	args, err := pickArgs(c.name, params, want, r.kspec)
	if err != nil {
		return target{}, err
	}
	return target{fn: c.name, fl: viaFentryBPF, args: args, bpf: c.prog}, nil
}

// opsParams finds the sched_ext_ops member a callback implements.
func (r *resolver) opsParams(fn string) []btf.FuncParam {
	if r.ops == nil {
		return nil
	}
	best := ""
	var params []btf.FuncParam
	for _, m := range r.ops.Members {
		if !strings.HasSuffix(fn, "_"+m.Name) || len(m.Name) <= len(best) {
			continue
		}
		ptr, ok := m.Type.(*btf.Pointer)
		if !ok {
			continue
		}
		if proto, ok := ptr.Target.(*btf.FuncProto); ok {
			best, params = m.Name, r.namedParams(m.Name, proto.Params)
		}
	}
	return params
}

// namedParams gives a sched_ext_ops member's parameters their names.
// BTF keeps no names for a function pointer's parameters, but the
// kernel's CFI stub of each member has them: <member>_stub in Linux
// 6.12, sched_ext_ops__<member> later.
func (r *resolver) namedParams(member string, params []btf.FuncParam) []btf.FuncParam {
	for _, stub := range []string{"sched_ext_ops__" + member, member + "_stub"} {
		var fn *btf.Func
		if r.kspec.TypeByName(stub, &fn) != nil {
			continue
		}
		if proto, ok := fn.Type.(*btf.FuncProto); ok && len(proto.Params) == len(params) {
			return proto.Params
		}
	}
	return params
}

// kernelTarget probes a kernel function: fentry when the kernel's BTF
// describes it (with a kprobe plan to fall back to), else a kprobe.
func (r *resolver) kernelTarget(s Spec) (target, error) {
	var params []btf.FuncParam
	var fn *btf.Func
	if err := r.kspec.TypeByName(s.Func, &fn); err == nil {
		params = fn.Type.(*btf.FuncProto).Params
	}
	args, err := pickArgs(s.Func, params, s.Args, r.kspec)
	if err != nil {
		return target{}, err
	}
	kargs := slices.Clone(args)
	for i := range kargs {
		if kargs[i].plan.index >= len(r.regs) {
			return target{}, fmt.Errorf("argument %s: no register for argument %d in struct pt_regs", kargs[i].name, kargs[i].plan.index)
		}
		kargs[i].plan.regOff = r.regs[kargs[i].plan.index]
	}
	if fn == nil {
		return target{fn: s.Func, fl: viaKprobe, args: kargs}, nil
	}
	return target{fn: s.Func, fl: viaFentry, args: args, kprobeArgs: kargs}, nil
}

// pickArgs selects the arguments to record: by name from the function's
// parameters, by position ("arg2"), or all of them when want is empty.
func pickArgs(fn string, params []btf.FuncParam, want []string, kspec *btf.Spec) ([]argInfo, error) {
	if len(want) == 0 {
		for i, p := range params[:min(len(params), MaxArgs)] {
			want = append(want, cmpOr(p.Name, "arg"+strconv.Itoa(i)))
		}
	}
	var out []argInfo
	for _, name := range want {
		i := slices.IndexFunc(params, func(p btf.FuncParam) bool { return p.Name == name })
		if i < 0 {
			n, err := strconv.Atoi(strings.TrimPrefix(name, "arg"))
			if !strings.HasPrefix(name, "arg") || err != nil || n < 0 || n >= MaxArgs {
				return nil, fmt.Errorf("%s has no argument %q (its arguments: %s)", fn, name, paramNames(params))
			}
			i = n
		}
		var typ btf.Type
		if i < len(params) {
			typ = params[i].Type
		}
		out = append(out, argFor(name, i, typ, kspec))
	}
	return out, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func paramNames(ps []btf.FuncParam) string {
	if len(ps) == 0 {
		return "unknown without BTF: use arg0..arg5"
	}
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = cmpOr(p.Name, "arg"+strconv.Itoa(i))
	}
	return strings.Join(names, ", ")
}

// argFor plans one argument of type typ (nil: unknown) and how to show
// it.
func argFor(name string, index int, typ btf.Type, kspec *btf.Spec) argInfo {
	a := argInfo{name: name, plan: argPlan{index: index}, render: hexText}
	switch t := btf.UnderlyingType(typ).(type) {
	case *btf.Int:
		a.render = intText(t)
	case *btf.Enum:
		a.render = enumText(t)
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
			a.plan.derefOff, a.plan.derefSize = off, size
			a.render = d.show
		}
	}
	if strings.Contains(name, "dsq_id") {
		a.render = dsqText
	}
	return a
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

func hexText(v uint64) string { return fmt.Sprintf("%#x", v) }

func intText(t *btf.Int) func(uint64) string {
	bits := 8 * min(t.Size, 8)
	return func(v uint64) string {
		if bits < 64 {
			v &= 1<<bits - 1
		}
		switch {
		case t.Encoding&btf.Bool != 0:
			return strconv.FormatBool(v != 0)
		case t.Encoding&btf.Signed != 0:
			return strconv.FormatInt(int64(v<<(64-bits))>>(64-bits), 10)
		}
		return strconv.FormatUint(v, 10)
	}
}

func enumText(t *btf.Enum) func(uint64) string {
	return func(v uint64) string {
		if t.Size < 8 {
			v &= 1<<(8*t.Size) - 1
		}
		for _, e := range t.Values {
			if e.Value == v {
				return e.Name
			}
		}
		return strconv.FormatUint(v, 10)
	}
}

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
