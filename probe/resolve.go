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

// resolver knows the kernel's types (a Table) and the scheduler's
// programs.
type resolver struct {
	table *Table
	// cache holds the kernel's BTF when the guest parsed it itself (no
	// Table from the host); fentry programs on kernel functions need it.
	// Without it kernel functions get kprobes, which need no BTF.
	cache *btf.Cache
	progs []callback
}

// callback is one of the scheduler's struct_ops programs.
type callback struct {
	name string
	prog *ebpf.Program
}

// newResolver resolves specs with table, the host's; nil parses the
// guest kernel's own BTF.
func newResolver(table *Table, specs []Spec) (*resolver, error) {
	if table != nil {
		return &resolver{table: table}, nil
	}
	cache := btf.NewCache()
	kspec, err := cache.Kernel()
	if err != nil {
		return nil, fmt.Errorf("the guest kernel's BTF (/sys/kernel/btf/vmlinux): %w", err)
	}
	return &resolver{table: NewTable(kspec, specs), cache: cache}, nil
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
		if _, ok := r.table.Funcs[s.Func]; ok && s.Func != AllCallbacks {
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
// the sched_ext_ops member it implements (Table.opsParams).
func (r *resolver) callbackTarget(c callback, want []string) (target, error) {
	args, err := pickArgs(c.name, r.table.opsParams(c.name), want)
	if err != nil {
		return target{}, err
	}
	return target{fn: c.name, fl: viaFentryBPF, args: args, bpf: c.prog}, nil
}

// kernelTarget probes a kernel function: fentry when the guest has the
// kernel's BTF and it describes the function (with a kprobe plan to
// fall back to), else a kprobe.
func (r *resolver) kernelTarget(s Spec) (target, error) {
	params, inBTF := r.table.Funcs[s.Func]
	args, err := pickArgs(s.Func, params, s.Args)
	if err != nil {
		return target{}, err
	}
	kargs := slices.Clone(args)
	for i := range kargs {
		if kargs[i].plan.index >= len(r.table.Regs) {
			return target{}, fmt.Errorf("argument %s: no register for argument %d in struct pt_regs", kargs[i].name, kargs[i].plan.index)
		}
		kargs[i].plan.regOff = r.table.Regs[kargs[i].plan.index]
	}
	if !inBTF || r.cache == nil {
		return target{fn: s.Func, fl: viaKprobe, args: kargs}, nil
	}
	return target{fn: s.Func, fl: viaFentry, args: args, kprobeArgs: kargs}, nil
}

// pickArgs selects the arguments to record: by name from the function's
// parameters, by position ("arg2"), or all of them when want is empty.
func pickArgs(fn string, params []Param, want []string) ([]argInfo, error) {
	if len(want) == 0 {
		for i, p := range params[:min(len(params), MaxArgs)] {
			want = append(want, cmpOr(p.Name, "arg"+strconv.Itoa(i)))
		}
	}
	var out []argInfo
	for _, name := range want {
		i := slices.IndexFunc(params, func(p Param) bool { return p.Name == name })
		if i < 0 {
			n, err := strconv.Atoi(strings.TrimPrefix(name, "arg"))
			if !strings.HasPrefix(name, "arg") || err != nil || n < 0 || n >= MaxArgs {
				return nil, fmt.Errorf("%s has no argument %q (its arguments: %s)", fn, name, paramNames(params))
			}
			i = n
		}
		var p Param
		if i < len(params) {
			p = params[i]
		}
		out = append(out, argInfo{name: name, render: p.Show.render(),
			plan: argPlan{index: i, derefOff: p.DerefOff, derefSize: p.DerefSize}})
	}
	return out, nil
}

func paramNames(ps []Param) string {
	if len(ps) == 0 {
		return "unknown without BTF: use arg0..arg5"
	}
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = cmpOr(p.Name, "arg"+strconv.Itoa(i))
	}
	return strings.Join(names, ", ")
}
