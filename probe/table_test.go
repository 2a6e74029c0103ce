package probe

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/cilium/ebpf/btf"
)

// kernelBTF is a small kernel BTF with what probes look for: a kernel
// function, sched_ext_ops with one callback and its CFI stub (which
// names the parameters), and struct pt_regs.
func kernelBTF(t *testing.T) *btf.Spec {
	t.Helper()
	s32 := &btf.Int{Name: "s32", Size: 4, Encoding: btf.Signed}
	u64 := &btf.Int{Name: "u64", Size: 8}
	task := &btf.Struct{Name: "task_struct", Size: 4096, Members: []btf.Member{{Name: "pid", Type: s32, Offset: 8 * 2456}}}
	rq := &btf.Struct{Name: "rq", Size: 4096, Members: []btf.Member{{Name: "cpu", Type: s32, Offset: 8 * 3200}}}
	balance := &btf.Func{Name: "balance_scx", Linkage: btf.GlobalFunc, Type: &btf.FuncProto{Return: s32,
		Params: []btf.FuncParam{{Name: "rq", Type: &btf.Pointer{Target: rq}}, {Name: "prev", Type: &btf.Pointer{Target: task}}}}}
	dispatch := &btf.FuncProto{Return: &btf.Void{}, Params: []btf.FuncParam{{Type: s32}, {Type: &btf.Pointer{Target: task}}}}
	stub := &btf.Func{Name: "dispatch_stub", Linkage: btf.StaticFunc, Type: &btf.FuncProto{Return: &btf.Void{},
		Params: []btf.FuncParam{{Name: "cpu", Type: s32}, {Name: "prev", Type: &btf.Pointer{Target: task}}}}}
	ops := &btf.Struct{Name: "sched_ext_ops", Size: 16, Members: []btf.Member{
		{Name: "dispatch", Type: &btf.Pointer{Target: dispatch}},
		{Name: "flags", Type: u64, Offset: 64},
	}}
	var regMembers []btf.Member
	for i, name := range []string{"r9", "r8", "ax", "cx", "dx", "si", "di"} {
		regMembers = append(regMembers, btf.Member{Name: name, Type: u64, Offset: btf.Bits(64 * (8 + i))})
	}
	regs := &btf.Struct{Name: "pt_regs", Size: 168, Members: regMembers}
	b, err := btf.NewBuilder([]btf.Type{balance, stub, ops, regs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := b.Spec()
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// The host's table, sent as JSON, lets the guest plan kprobes on kernel
// functions and fentry on callbacks, with the arguments rendered as the
// kernel's BTF says, without any BTF in the guest.
func TestTableFromBTF(t *testing.T) {
	specs := []Spec{{Func: AllCallbacks}, On("balance_scx"), On("not_in_btf")}
	b, err := json.Marshal(NewTable(kernelBTF(t), specs))
	if err != nil {
		t.Fatal(err)
	}
	var table Table
	if err := json.Unmarshal(b, &table); err != nil {
		t.Fatal(err)
	}
	if want := []int16{112, 104, 96, 88, 72, 64}; !reflect.DeepEqual(table.Regs, want) {
		t.Errorf("pt_regs offsets %v, want %v", table.Regs, want)
	}
	if _, ok := table.Funcs["not_in_btf"]; ok {
		t.Error("a function the BTF lacks is in the table")
	}
	r, err := newResolver(&table, specs)
	if err != nil {
		t.Fatal(err)
	}
	kernel, later := r.split(specs)
	if len(kernel) != 1 || kernel[0].Func != "balance_scx" || len(later) != 2 {
		t.Errorf("split: kernel %v, later %v; want balance_scx now, the rest once the scheduler attached", kernel, later)
	}

	bal, err := r.kernelTarget(On("balance_scx"))
	if err != nil {
		t.Fatal(err)
	}
	if bal.fl != viaKprobe {
		t.Errorf("balance_scx via %s; without the guest's BTF, want a kprobe", bal.fl)
	}
	if got := []string{bal.args[0].render(3), bal.args[1].render(42)}; !reflect.DeepEqual(got, []string{"cpu3", "pid 42"}) {
		t.Errorf("balance_scx arguments rendered %q", got)
	}
	if p := bal.args[1].plan; p.regOff != 104 || p.derefOff != 2456 || p.derefSize != 4 {
		t.Errorf("prev: %+v; want register si (104) and the pid at 2456", p)
	}

	cb, err := r.callbackTarget(callback{name: "fifo_dispatch"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cb.args) != 2 || cb.args[0].name != "cpu" || cb.args[1].name != "prev" {
		t.Fatalf("fifo_dispatch arguments %+v; want cpu and prev, named by dispatch_stub", cb.args)
	}
	if got := cb.args[0].render(0xffffffff); got != "-1" {
		t.Errorf("cpu rendered %q, want -1", got)
	}
	raw, err := r.kernelTarget(On("not_in_btf", "arg1"))
	if err != nil || raw.fl != viaKprobe || raw.args[0].plan.regOff != 104 || raw.args[0].render(255) != "0xff" {
		t.Errorf("a function without BTF: %+v, %v; want a kprobe recording si in hex", raw, err)
	}
}

func TestShowRender(t *testing.T) {
	for _, c := range []struct {
		show Show
		v    uint64
		want string
	}{
		{Show{}, 255, "0xff"},
		{Show{Kind: "int", Bits: 32}, 0xfffffffe, "-2"},
		{Show{Kind: "int", Bits: 64}, 1 << 63, "-9223372036854775808"},
		{Show{Kind: "uint", Bits: 8}, 0x1ff, "255"},
		{Show{Kind: "bool", Bits: 8}, 0x100, "false"},
		{Show{Kind: "enum", Bits: 32, Names: map[uint64]string{1026: "SCX_EXIT_ERROR_STALL"}}, 1<<32 | 1026, "SCX_EXIT_ERROR_STALL"},
		{Show{Kind: "enum", Bits: 32}, 7, "7"},
		{Show{Kind: "dsq"}, 1<<63 | 1<<62 | 3, "SCX_DSQ_LOCAL_ON|3"},
	} {
		if got := c.show.render()(c.v); got != c.want {
			t.Errorf("%+v of %#x: %q, want %q", c.show, c.v, got, c.want)
		}
	}
}
