package guest

import (
	"errors"
	"fmt"
	"os"

	"github.com/cilium/ebpf"
)

// BPFSymbol is one JIT-compiled BPF function in the guest kernel: what
// /proc/kallsyms lists as bpf_prog_<tag>_<name>. The host names a stalled
// vCPU's addresses in a scheduler's BPF code with them; its vmlinux
// knows nothing of code loaded at run time.
type BPFSymbol struct {
	Addr uint64 `json:"addr"`
	Size uint32 `json:"size"`
	// Name is the function's name from the program's BTF (a subprogram's
	// own), else the program's name.
	Name string `json:"name"`
}

// BPFSymbols lists the JIT-compiled functions of every BPF program loaded
// now, read with the bpf syscall (cheaper than /proc/kallsyms, which
// would walk every kernel symbol).
func BPFSymbols() ([]BPFSymbol, error) {
	var out []BPFSymbol
	err := Programs(func(p *ebpf.Program) error {
		defer p.Close()
		syms, err := programSymbols(p)
		if err != nil {
			return err
		}
		out = append(out, syms...)
		return nil
	})
	return out, err
}

// Programs calls fn with every BPF program loaded now, in ID order; a
// program unloaded meanwhile is skipped. fn owns the program: it closes
// it or keeps it.
func Programs(fn func(*ebpf.Program) error) error {
	for id := ebpf.ProgramID(0); ; {
		next, err := ebpf.ProgramGetNextID(id)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("listing BPF programs: %w", err)
		}
		id = next
		p, err := ebpf.NewProgramFromID(id)
		if errors.Is(err, os.ErrNotExist) {
			continue // unloaded meanwhile
		}
		if err != nil {
			return fmt.Errorf("BPF program %d: %w", id, err)
		}
		if err := fn(p); err != nil {
			return fmt.Errorf("BPF program %d: %w", id, err)
		}
	}
}

// programSymbols returns one program's JIT-compiled functions.
func programSymbols(p *ebpf.Program) ([]BPFSymbol, error) {
	info, err := p.Info()
	if err != nil {
		return nil, err
	}
	addrs, _ := info.JitedKsymAddrs()
	lens, _ := info.JitedFuncLens()
	if len(addrs) != len(lens) {
		return nil, fmt.Errorf("%d JIT addresses but %d lengths", len(addrs), len(lens))
	}
	// BTF names each function, subprograms included, in JIT order; the
	// program's own name is cut to 15 characters and names only the
	// first.
	names := make([]string, len(addrs))
	if funcs, err := info.FuncInfos(); err == nil && len(funcs) == len(addrs) {
		for i, f := range funcs {
			names[i] = f.Func.Name
		}
	}
	out := make([]BPFSymbol, len(addrs))
	for i := range addrs {
		name := names[i]
		switch {
		case name != "":
		case i == 0:
			name = info.Name
		default:
			name = fmt.Sprintf("%s_f%d", info.Name, i)
		}
		out[i] = BPFSymbol{Addr: uint64(addrs[i]), Size: lens[i], Name: name}
	}
	return out, nil
}
