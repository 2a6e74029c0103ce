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
