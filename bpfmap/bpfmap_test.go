package bpfmap

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

func TestParseWrite(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Write
		err  string
	}{
		{in: ".bss:test_error_cnt=100", want: Write{Map: ".bss", Var: "test_error_cnt", Value: U32(100)}},
		{in: "stats[7]+8=1/64", want: Write{Map: "stats", Key: U32(7), Offset: 8, Value: U64(1)}},
		{in: "cfg[hex:0a000000]=hex:ff00", want: Write{Map: "cfg", Key: []byte{10, 0, 0, 0}, Value: []byte{0xff, 0}}},
		{in: "scx_qmap.bss+4=-1/16", want: Write{Map: "scx_qmap.bss", Offset: 4, Value: []byte{0xff, 0xff}}},
		{in: "m=0x10/8", want: Write{Map: "m", Value: []byte{0x10}}},
		{in: "nomap", err: "want MAP"},
		{in: "=1", err: "no map name"},
		{in: "m=300/8", err: "not a 8-bit integer"},
		{in: "m=1/12", err: "width /12"},
		{in: "m+x=1", err: "offset \"x\""},
		{in: "m[1=1", err: "unclosed ["},
		{in: "m=hex:abc", err: "even number"},
	} {
		got, err := ParseWrite(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseWrite(%q) = %v, %v; want error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got.Map != tc.want.Map || got.Var != tc.want.Var || got.Offset != tc.want.Offset ||
			!bytes.Equal(got.Key, tc.want.Key) || !bytes.Equal(got.Value, tc.want.Value) {
			t.Errorf("ParseWrite(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestPick(t *testing.T) {
	maps := []*Map{named("scx_qmap.bss"), named("scx_qmap.data"), named("queue0"), named("a_long_map_name"), named(".bss")}
	for _, tc := range []struct{ name, want, err string }{
		{name: "queue0", want: "queue0"},
		{name: ".data", want: "scx_qmap.data"},
		{name: ".bss", want: ".bss"}, // the exact name wins over the suffix
		{name: "a_long_map_name_in_c", want: "a_long_map_name"},
		{name: "nope", err: `no BPF map "nope"; its maps: .bss, a_long_map_name, queue0, scx_qmap.bss, scx_qmap.data`},
	} {
		m, err := pick(maps, tc.name)
		switch {
		case tc.err != "":
			if err == nil || err.Error() != "the scheduler has "+tc.err {
				t.Errorf("pick(%q) = %v, want error %q", tc.name, err, tc.err)
			}
		case err != nil || m.Info.Name != tc.want:
			t.Errorf("pick(%q) = %v, %v; want %s", tc.name, m, err, tc.want)
		}
	}
	if _, err := pick([]*Map{named("a.bss"), named("b.bss")}, ".bss"); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("two .bss maps: %v, want ambiguous", err)
	}
}

func named(n string) *Map { return &Map{Info: &ebpf.MapInfo{Name: n}} }

// hostMap creates a real array map on this machine (root only).
func hostMap(t *testing.T, spec *ebpf.MapSpec) *Map {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create BPF maps")
	}
	m, err := ebpf.NewMap(spec)
	if err != nil {
		t.Skipf("cannot create BPF maps here: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	info, err := m.Info()
	if err != nil {
		t.Fatal(err)
	}
	id, _ := info.ID()
	return &Map{ID: id, Info: info, m: m}
}

func TestApplyReadsBack(t *testing.T) {
	m := hostMap(t, &ebpf.MapSpec{Name: "probe", Type: ebpf.Array, KeySize: 4, ValueSize: 16, MaxEntries: 2})
	a, err := apply(m, Write{Map: "probe", Key: U32(1), Offset: 8, Value: U32(0xdead)})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Before, U32(0)) || !bytes.Equal(a.After, U32(0xdead)) || a.Offset != 8 {
		t.Fatalf("applied %+v", a)
	}
	got := make([]byte, 16)
	if err := m.m.Lookup(uint32(1), &got); err != nil || !bytes.Equal(got[8:12], U32(0xdead)) || !bytes.Equal(got[:8], make([]byte, 8)) {
		t.Fatalf("map holds %x (%v), want 0xdead at 8 and the rest kept", got, err)
	}
	for _, tc := range []struct {
		w   Write
		err string
	}{
		{Write{Map: "probe", Key: U32(5), Value: U32(1)}, "has no key 05000000"},
		{Write{Map: "probe", Offset: 14, Value: U32(1)}, "do not fit its 16-byte value"},
		{Write{Map: "probe", Key: []byte{1}, Value: U32(1)}, "the map's keys have 4"},
		{Write{Map: "probe", Var: "x", Value: U32(1)}, "carries no BTF"},
	} {
		if _, err := apply(m, tc.w); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("apply(%v) = %v, want %q", tc.w, err, tc.err)
		}
	}
}

// TestApplyVariable writes a global variable by name, found through the
// map's BTF data section as for a scheduler's .bss.
func TestApplyVariable(t *testing.T) {
	u32 := &btf.Int{Name: "u32", Size: 4}
	ds := &btf.Datasec{Name: ".bss", Size: 8, Vars: []btf.VarSecinfo{
		{Type: &btf.Var{Name: "nr_ticks", Type: u32, Linkage: btf.GlobalVar}, Offset: 0, Size: 4},
		{Type: &btf.Var{Name: "test_error_cnt", Type: u32, Linkage: btf.GlobalVar}, Offset: 4, Size: 4},
	}}
	m := hostMap(t, &ebpf.MapSpec{Name: "obj.bss", Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1,
		Key: &btf.Int{Name: "u32", Size: 4}, Value: ds})
	a, err := apply(m, Write{Map: ".bss", Var: "test_error_cnt", Value: U32(100)})
	if err != nil {
		t.Fatal(err)
	}
	if a.Offset != 4 {
		t.Fatalf("variable at %d, want 4", a.Offset)
	}
	if _, err := apply(m, Write{Map: ".bss", Var: "nope", Value: U32(1)}); err == nil ||
		!strings.Contains(err.Error(), "no variable nope (its variables: nr_ticks, test_error_cnt)") {
		t.Errorf("unknown variable: %v", err)
	}
	if _, err := apply(m, Write{Map: ".bss", Var: "nr_ticks", Value: U64(1)}); err == nil || !strings.Contains(err.Error(), "is 4 bytes") {
		t.Errorf("wrong size: %v", err)
	}
}

func TestWriteString(t *testing.T) {
	w := Write{Map: ".bss", Var: "test_error_cnt", Value: U32(100)}
	if s := w.String(); s != ".bss.test_error_cnt = 0x64000000" {
		t.Errorf("String = %q", s)
	}
}

func TestRead(t *testing.T) {
	u32 := &btf.Int{Name: "u32", Size: 4}
	ds := &btf.Datasec{Name: ".rodata", Size: 8, Vars: []btf.VarSecinfo{
		{Type: &btf.Var{Name: "a", Type: u32, Linkage: btf.GlobalVar}, Offset: 0, Size: 4},
		{Type: &btf.Var{Name: "b", Type: u32, Linkage: btf.GlobalVar}, Offset: 4, Size: 4},
	}}
	m := hostMap(t, &ebpf.MapSpec{Name: "obj.rodata", Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1,
		Key: u32, Value: ds, Contents: []ebpf.MapKV{{Key: uint32(0), Value: append(U32(1), U32(2)...)}}})
	got, err := m.read(nil, "b")
	if err != nil || !bytes.Equal(got, U32(2)) {
		t.Fatalf("read b = %x, %v", got, err)
	}
	whole, err := m.read(nil, "")
	if err != nil || len(whole) != 8 {
		t.Fatalf("read whole = %x, %v", whole, err)
	}
	if _, err := m.read(U32(3), ""); err == nil || !strings.Contains(err.Error(), "has no key") {
		t.Errorf("missing key: %v", err)
	}
}

// The rest of a scheduler's object is found through the process holding
// its maps: this test process holds both maps, so either finds the other.
func TestHeldWith(t *testing.T) {
	a := hostMap(t, &ebpf.MapSpec{Name: "a", Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	b := hostMap(t, &ebpf.MapSpec{Name: "b", Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	got := heldWith([]ebpf.MapID{a.ID})
	if !slices.Contains(got, b.ID) || !slices.Contains(got, a.ID) {
		t.Fatalf("heldWith(%d) = %v, want both %d and %d", a.ID, got, a.ID, b.ID)
	}
	if got := heldWith([]ebpf.MapID{1 << 30}); len(got) != 0 {
		t.Errorf("a map nobody holds: %v", got)
	}
}

func TestWriteJSON(t *testing.T) {
	w := Write{Map: ".bss", Key: U32(1), Var: "n", Value: U32(100), Volatile: true}
	b, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"map":".bss","key":"01000000","var":"n","value":"64000000","volatile":true}` {
		t.Errorf("JSON %s", b)
	}
	var back Write
	if err := json.Unmarshal(b, &back); err != nil || back.Map != w.Map || !bytes.Equal(back.Key, w.Key) || !bytes.Equal(back.Value, w.Value) || !back.Volatile || back.Var != "n" {
		t.Errorf("round trip %+v, %v", back, err)
	}
}
