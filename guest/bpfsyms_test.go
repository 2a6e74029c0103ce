package guest

import (
	"errors"
	"os"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
)

// BPFSymbols finds a loaded program's JIT-compiled functions, each under
// its BTF name, the subprogram included. It runs wherever the bpf
// syscall does (as root): the host here, the guest in a VM.
func TestBPFSymbols(t *testing.T) {
	fn := func(name string) *btf.Func {
		return &btf.Func{Name: name, Type: &btf.FuncProto{Return: &btf.Int{Size: 4, Encoding: btf.Signed}}, Linkage: btf.GlobalFunc}
	}
	spec := &ebpf.ProgramSpec{
		Name: "ktstr_symtest",
		Type: ebpf.SocketFilter,
		Instructions: asm.Instructions{
			btf.WithFuncMetadata(asm.Mov.Imm(asm.R0, 0), fn("ktstr_symtest_main")),
			asm.Call.Label("ktstr_symtest_sub"),
			asm.Return(),
			btf.WithFuncMetadata(asm.Mov.Imm(asm.R0, 1), fn("ktstr_symtest_sub")).WithSymbol("ktstr_symtest_sub"),
			asm.Return(),
		},
		License: "GPL",
	}
	prog, err := ebpf.NewProgram(spec)
	if errors.Is(err, os.ErrPermission) || errors.Is(err, ebpf.ErrNotSupported) {
		t.Skipf("cannot load a BPF program here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()

	syms, err := BPFSymbols()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]BPFSymbol{}
	for _, s := range syms {
		got[s.Name] = s
	}
	main, sub := got["ktstr_symtest_main"], got["ktstr_symtest_sub"]
	if main.Addr == 0 || main.Size == 0 || sub.Addr == 0 || sub.Size == 0 {
		t.Fatalf("program functions %+v and %+v, want both with an address and a size (JIT on?); all: %d symbols", main, sub, len(syms))
	}
	if main.Addr < 1<<63 || sub.Addr < 1<<63 {
		t.Errorf("addresses %#x, %#x are not kernel addresses", main.Addr, sub.Addr)
	}
	if main.Addr == sub.Addr {
		t.Errorf("main and subprogram share address %#x", main.Addr)
	}
}
