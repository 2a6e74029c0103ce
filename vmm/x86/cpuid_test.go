package x86

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/kvm"
	"github.com/ktstr-go/ktstr/topology"
)

func vendorLeaf(v string, max uint32) kvm.CPUIDEntry {
	w := func(s string) uint32 { return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24 }
	return kvm.CPUIDEntry{Function: 0, EAX: max, EBX: w(v[0:4]), EDX: w(v[4:8]), ECX: w(v[8:12])}
}

// hostCPUID is a plausible KVM_GET_SUPPORTED_CPUID answer, including stale
// topology leaves that must be replaced.
func hostCPUID(vendor string) []kvm.CPUIDEntry {
	return []kvm.CPUIDEntry{
		vendorLeaf(vendor, 0xd),
		{Function: 1, EAX: 0x663, EBX: 0x00ff0800, ECX: 1 << 31, EDX: 1 << 28},
		{Function: 0xb, Index: 0, Flags: 1, EAX: 9, EBX: 9, ECX: 0x100},
		{Function: 0x80000000, EAX: 0x8000000a},
		{Function: 0x80000001},
		{Function: 0x80000008, EAX: 0x3028, ECX: 0xffff},
	}
}

func lookup(es []kvm.CPUIDEntry, fn, idx uint32) (kvm.CPUIDEntry, bool) {
	var found kvm.CPUIDEntry
	n := 0
	for _, e := range es {
		if e.Function == fn && (e.Flags&kvm.CPUIDFlagSignificantIndex == 0 || e.Index == idx) {
			found = e
			n++
		}
	}
	return found, n == 1
}

// decoded is what a kernel concludes about one CPU from its CPUID alone.
type decoded struct {
	apic, pkg, core, thread uint32
	llcIntel, llcAMD        uint32
	llcAMDNode              uint32
}

// decode mimics arch/x86/kernel/cpu/topology*.c and cacheinfo.c.
func decode(t *testing.T, es []kvm.CPUIDEntry, amd bool) decoded {
	t.Helper()
	must := func(fn, idx uint32) kvm.CPUIDEntry {
		e, ok := lookup(es, fn, idx)
		if !ok {
			t.Fatalf("leaf %#x.%d missing or duplicated", fn, idx)
		}
		return e
	}
	l0 := must(0, 0)
	if l0.EAX < 0x1f {
		t.Fatalf("max basic leaf %#x < 0x1f", l0.EAX)
	}
	var d decoded
	d.apic = must(1, 0).EBX >> 24
	// Kernels read leaf 0x1F or 0xB depending on vendor and age: both must
	// give the same thread, core and package.
	var ext [2]struct{ thread, core, pkg uint32 }
	for i, f := range []uint32{0x1f, 0xb} {
		smt, core, end := must(f, 0), must(f, 1), must(f, 2)
		if smt.ECX>>8&0xff != 1 || core.ECX>>8&0xff != 2 || end.ECX>>8&0xff != 0 {
			t.Fatalf("leaf %#x level types %x %x %x", f, smt.ECX, core.ECX, end.ECX)
		}
		if smt.EDX != d.apic || core.EDX != d.apic {
			t.Fatalf("leaf %#x x2APIC ID %d/%d, leaf 1 says %d", f, smt.EDX, core.EDX, d.apic)
		}
		ts, cs := smt.EAX&0x1f, core.EAX&0x1f
		ext[i].thread = d.apic & (1<<ts - 1)
		ext[i].core = d.apic >> ts & (1<<(cs-ts) - 1)
		ext[i].pkg = d.apic >> cs
	}
	if ext[0] != ext[1] {
		t.Fatalf("APIC ID %d: leaf 0x1f gives %+v, leaf 0xb %+v", d.apic, ext[0], ext[1])
	}
	d.thread, d.core, d.pkg = ext[0].thread, ext[0].core, ext[0].pkg
	shareOrder := func(eax uint32) uint32 { return uint32(countOrder(int(eax>>14&0xfff) + 1)) }
	// Intel: the LLC is the last leaf-4 cache; llc_id = apicid >> order(sharing).
	var last kvm.CPUIDEntry
	for i := uint32(0); ; i++ {
		e := must(4, i)
		if e.EAX&0x1f == 0 {
			break
		}
		last = e
	}
	if last.EAX>>5&7 != 3 {
		t.Fatalf("last leaf-4 cache is level %d", last.EAX>>5&7)
	}
	d.llcIntel = d.apic >> shareOrder(last.EAX)
	if amd {
		if must(0x80000001, 0).ECX&topoextBit == 0 {
			t.Fatal("TOPOEXT not set")
		}
		if must(0x80000006, 0).EDX == 0 {
			t.Fatal("0x80000006 EDX is 0: the kernel would assume no L3")
		}
		for i := uint32(0); ; i++ {
			e := must(0x8000001d, i)
			if e.EAX&0x1f == 0 {
				break
			}
			last = e
		}
		d.llcAMD = d.apic >> shareOrder(last.EAX)
		e := must(0x8000001e, 0)
		if e.EAX != d.apic {
			t.Fatalf("0x8000001E EAX %d, APIC ID %d", e.EAX, d.apic)
		}
		if e.EBX>>8&0xff+1 != must(0xb, 0).EBX {
			t.Fatalf("0x8000001E threads per core %d, leaf 0xB %d", e.EBX>>8&0xff+1, must(0xb, 0).EBX)
		}
		d.llcAMDNode = e.ECX & 0xff
		ext8 := must(0x80000008, 0)
		if ext8.ECX>>12&0xf != must(0xb, 1).EAX&0x1f {
			t.Fatalf("0x80000008 ApicIdCoreIdSize %d, leaf 0xB core shift %d", ext8.ECX>>12&0xf, must(0xb, 1).EAX)
		}
		if ext8.EAX != 0x3028 {
			t.Fatalf("0x80000008 EAX (address sizes) changed to %#x", ext8.EAX)
		}
	}
	return d
}

// groups partitions CPU ids by key.
func groups(n int, key func(i int) string) map[string][]int {
	g := map[string][]int{}
	for i := 0; i < n; i++ {
		g[key(i)] = append(g[key(i)], i)
	}
	return g
}

func samePartition(a, b map[string][]int) bool {
	canon := func(m map[string][]int) map[string]bool {
		s := map[string]bool{}
		for _, v := range m {
			s[fmt.Sprint(v)] = true
		}
		return s
	}
	ca, cb := canon(a), canon(b)
	if len(ca) != len(cb) {
		return false
	}
	for k := range ca {
		if !cb[k] {
			return false
		}
	}
	return true
}

func TestTopologyCPUIDDecodesToShape(t *testing.T) {
	var shapes []topology.Topology
	for _, nodes := range []int{1, 2, 3, 4} {
		for _, llcsPerNode := range []int{1, 2, 3} {
			for _, cores := range []int{1, 2, 3, 4, 5, 8, 16} {
				for _, threads := range []int{1, 2} {
					tp := topology.Topology{NUMANodes: nodes, LLCs: nodes * llcsPerNode, CoresPerLLC: cores, ThreadsPerCore: threads}
					if tp.Validate() == nil {
						shapes = append(shapes, tp)
					}
				}
			}
		}
	}
	shapes = append(shapes, topology.Must("1n1l64c1t"), topology.Must("1n1l32c2t"), topology.Must("4n8l4c2t"), topology.Must("1n1l1c1t"), topology.Must("1n3l7c2t"))
	for _, vendor := range []string{"AuthenticAMD", "GenuineIntel"} {
		for _, tp := range shapes {
			t.Run(vendor+"/"+tp.String(), func(t *testing.T) {
				layout := tp.Layout()
				ds := make([]decoded, len(layout))
				apics := map[uint32]bool{}
				for i, c := range layout {
					ds[i] = decode(t, TopologyCPUID(hostCPUID(vendor), tp, c), isAMD(vendor))
					if apics[ds[i].apic] {
						t.Fatalf("APIC ID %d used twice", ds[i].apic)
					}
					if ds[i].apic >= 255 {
						t.Fatalf("APIC ID %d does not fit xAPIC", ds[i].apic)
					}
					apics[ds[i].apic] = true
				}
				n := len(layout)
				check := func(what string, got, want func(i int) string) {
					if g, w := groups(n, got), groups(n, want); !samePartition(g, w) {
						t.Errorf("%s: CPUID gives %v, want %v", what, g, w)
					}
				}
				wantCore := func(i int) string { return fmt.Sprint(layout[i].LLC, layout[i].Core) }
				wantLLC := func(i int) string { return fmt.Sprint(layout[i].LLC) }
				check("SMT siblings", func(i int) string { return fmt.Sprint(ds[i].pkg, ds[i].core) }, wantCore)
				check("package", func(i int) string { return fmt.Sprint(ds[i].pkg) }, wantLLC)
				check("LLC (Intel leaf 4)", func(i int) string { return fmt.Sprint(ds[i].llcIntel) }, wantLLC)
				if isAMD(vendor) {
					check("LLC (AMD 0x8000001D)", func(i int) string { return fmt.Sprint(ds[i].llcAMD) }, wantLLC)
					check("LLC (AMD pre-Zen node id)", func(i int) string { return fmt.Sprint(ds[i].llcAMDNode) }, wantLLC)
				}
				for i := range ds {
					if int(ds[i].thread) != layout[i].Thread {
						t.Errorf("cpu %d: thread %d, want %d", i, ds[i].thread, layout[i].Thread)
					}
				}
			})
		}
	}
}

func TestGuestFeatures(t *testing.T) {
	host := []kvm.CPUIDEntry{
		{Function: 0, EAX: 0x10},
		{Function: 1, ECX: 1 << 21}, // x2APIC
		{Function: 0x80000000, EAX: 0x80000008},
		{Function: 0x80000002, EAX: 0x41414141},
	}
	for _, deadline := range []bool{false, true} {
		got := GuestFeatures(host, deadline)
		var leaf1 kvm.CPUIDEntry
		var brand []byte
		for _, e := range got {
			switch e.Function {
			case 1:
				leaf1 = e
			case 0x80000002, 0x80000003, 0x80000004:
				for _, r := range []uint32{e.EAX, e.EBX, e.ECX, e.EDX} {
					brand = append(brand, byte(r), byte(r>>8), byte(r>>16), byte(r>>24))
				}
			}
		}
		if leaf1.ECX&(1<<31) == 0 {
			t.Errorf("deadline=%v: hypervisor bit not set: Linux would not look for KVM's leaves", deadline)
		}
		if leaf1.ECX&(1<<21) == 0 {
			t.Errorf("deadline=%v: host bits lost: leaf 1 ECX %#x", deadline, leaf1.ECX)
		}
		if got := leaf1.ECX&(1<<24) != 0; got != deadline {
			t.Errorf("deadline=%v: TSC-deadline bit %v", deadline, got)
		}
		if b := strings.TrimRight(string(brand), "\x00"); b != "ktstr-go virtual CPU" {
			t.Errorf("brand string %q", b)
		}
	}
}

func TestDeadlineTimerUsable(t *testing.T) {
	invariant := kvm.CPUIDEntry{Function: 0x80000007, EDX: 1 << 8}
	tests := []struct {
		name      string
		supported []kvm.CPUIDEntry
		kvmCap    bool
		want      bool
	}{
		{"invariant TSC and KVM emulates it", []kvm.CPUIDEntry{{Function: 1}, invariant}, true, true},
		{"KVM lacks KVM_CAP_TSC_DEADLINE_TIMER", []kvm.CPUIDEntry{{Function: 1}, invariant}, false, false},
		// A QEMU TCG host (the nested proof): leaf present, bit clear.
		{"host TSC not invariant", []kvm.CPUIDEntry{{Function: 1}, {Function: 0x80000007, EDX: 1 << 9}}, true, false},
		{"no leaf 0x80000007", []kvm.CPUIDEntry{{Function: 1}}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DeadlineTimerUsable(tt.supported, tt.kvmCap); got != tt.want {
				t.Errorf("DeadlineTimerUsable = %v, want %v", got, tt.want)
			}
		})
	}
}
