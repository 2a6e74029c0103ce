package kernel

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestSymbolizer(t *testing.T) {
	v, err := FindVmlinux(context.Background())
	if errors.Is(err, ErrNotFound) {
		t.Skipf("no kernel under test (`ktstr kernel build`): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	// The cached vmlinux is slim: symbolizing must not need its code.
	s, err := NewSymbolizer(v)
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(v)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	addr := map[string]uint64{}
	for _, sym := range syms {
		addr[sym.Name] = sym.Value
	}
	for _, name := range []string{"schedule", "pv_native_safe_halt", "nr_cpu_ids"} {
		if addr[name] == 0 {
			t.Fatalf("vmlinux has no symbol %s", name)
		}
	}
	for _, tt := range []struct {
		addr uint64
		want string
	}{
		{addr["schedule"], "schedule+0x0"},
		{addr["pv_native_safe_halt"] + 0x17, "pv_native_safe_halt+0x17"},
		// Not code: data, and a user-space address.
		{addr["nr_cpu_ids"], fmt.Sprintf("%#x", addr["nr_cpu_ids"])},
		{0x401000, "0x401000"},
	} {
		if got := s.Name(tt.addr); got != tt.want {
			t.Errorf("Name(%#x) = %q, want %q", tt.addr, got, tt.want)
		}
	}
	// A stack: return addresses are named in order; data, user addresses
	// and function pointers (offset 0) are skipped.
	stack := []uint64{0, addr["schedule"] + 5, addr["nr_cpu_ids"], 0x401000, addr["schedule"], addr["pv_native_safe_halt"] + 1}
	if got, want := s.Backtrace(stack, 8), []string{"schedule+0x5", "pv_native_safe_halt+0x1"}; !slices.Equal(got, want) {
		t.Errorf("Backtrace = %q, want %q", got, want)
	}
	if got := s.Backtrace(stack, 1); len(got) != 1 {
		t.Errorf("Backtrace(n=1) = %q, want one name", got)
	}
	if _, err := NewSymbolizer(fakeVmlinux(t)); err == nil {
		t.Error("NewSymbolizer accepted an object with no code symbols")
	}
}

// With adds sized functions the vmlinux does not have (JIT-compiled BPF)
// to a Symbolizer, leaving the original as it was.
func TestSymbolizerWith(t *testing.T) {
	base := &Symbolizer{syms: []textSymbol{{0x1000, 0x100, "schedule"}}, code: [][2]uint64{{0x1000, 0x2000}}}
	s := base.With([]CodeSymbol{
		{Addr: 0xa000, Size: 0x40, Name: "bpf_prog_tick"},
		{Addr: 0xa040, Size: 0x40, Name: "bpf_prog_spin"},
		{Addr: 0xb000, Name: "bpf_prog_unsized"},
	})
	for _, tt := range []struct {
		addr uint64
		want string
	}{
		{0x1005, "schedule+0x5"},
		{0xa000, "bpf_prog_tick+0x0"},
		{0xa03f, "bpf_prog_tick+0x3f"},
		{0xa044, "bpf_prog_spin+0x4"},
		{0xa080, "0xa080"}, // past the last one's end
		{0xb004, "0xb004"}, // no size, no range: left out
	} {
		if got := s.Name(tt.addr); got != tt.want {
			t.Errorf("Name(%#x) = %q, want %q", tt.addr, got, tt.want)
		}
	}
	if got, want := s.Backtrace([]uint64{0xa048, 0x1010, 0xa000}, 8), []string{"bpf_prog_spin+0x8", "schedule+0x10"}; !slices.Equal(got, want) {
		t.Errorf("Backtrace = %q, want %q", got, want)
	}
	if got := base.Name(0xa044); got != "0xa044" {
		t.Errorf("the original Symbolizer names %#x as %q: With must not change it", 0xa044, got)
	}
}
