package x86

import (
	"math/bits"

	"github.com/ktstr-go/ktstr/kvm"
	"github.com/ktstr-go/ktstr/topology"
)

// APIC IDs encode the topology as x86 firmware does: the low bits number
// the thread within its core, the next bits the core within its LLC, the
// rest the LLC. Each LLC is one package (socket), as QEMU does for
// AMD-style CPUs, so the kernel's package, die and LLC coincide and the
// MC scheduling domain spans exactly one LLC. NUMA nodes group whole
// LLCs and reach the kernel through ACPI SRAT, not CPUID.

// apicShifts returns the widths of the thread and core fields.
func apicShifts(t topology.Topology) (threadBits, coreBits uint) {
	return countOrder(t.ThreadsPerCore), countOrder(t.CoresPerLLC)
}

// countOrder is the kernel's get_count_order: ceil(log2(n)).
func countOrder(n int) uint {
	if n <= 1 {
		return 0
	}
	return uint(bits.Len(uint(n - 1)))
}

// APICID is the local APIC ID of a logical CPU.
func APICID(t topology.Topology, c topology.CPU) uint32 {
	tb, cb := apicShifts(t)
	return uint32(c.LLC)<<(tb+cb) | uint32(c.Core)<<tb | uint32(c.Thread)
}

// Cache geometry the guest is told about. Sizes are nominal; only the
// sharing fields matter to the scheduler.
type cacheDesc struct {
	level, ctype    uint32 // ctype: 1 data, 2 instruction, 3 unified
	sizeKB, ways    uint32
	lineSize        uint32
	sharedByThreads bool // L1/L2: one core; L3: the whole LLC
}

var guestCaches = []cacheDesc{
	{level: 1, ctype: 1, sizeKB: 32, ways: 8, lineSize: 64, sharedByThreads: true},
	{level: 1, ctype: 2, sizeKB: 32, ways: 8, lineSize: 64, sharedByThreads: true},
	{level: 2, ctype: 3, sizeKB: 512, ways: 8, lineSize: 64, sharedByThreads: true},
	{level: 3, ctype: 3, sizeKB: 16384, ways: 16, lineSize: 64},
}

// cacheLeaf encodes a cache in the common layout of Intel leaf 4 and AMD
// leaf 0x8000001D (EAX type/level/sharing, EBX ways/partitions/line,
// ECX sets).
func cacheLeaf(t topology.Topology, c cacheDesc, amd bool) (eax, ebx, ecx, edx uint32) {
	tb, cb := apicShifts(t)
	sharing := uint32(1) << tb
	if !c.sharedByThreads {
		sharing = 1 << (tb + cb)
	}
	eax = c.ctype | c.level<<5 | 1<<8 | (sharing-1)<<14
	if !amd {
		// Intel: addressable core IDs in the package, minus one.
		eax |= (uint32(1)<<cb - 1) << 26
	}
	ebx = (c.ways-1)<<22 | (c.lineSize - 1)
	sets := c.sizeKB * 1024 / (c.ways * c.lineSize)
	ecx = sets - 1
	if c.level == 3 {
		edx = 1 << 1 // inclusive
	}
	return
}

// Vendor reports the CPU vendor string of leaf 0.
func cpuidVendor(entries []kvm.CPUIDEntry) string {
	for _, e := range entries {
		if e.Function == 0 {
			var b [12]byte
			for i := 0; i < 4; i++ {
				b[i], b[4+i], b[8+i] = byte(e.EBX>>(8*i)), byte(e.EDX>>(8*i)), byte(e.ECX>>(8*i))
			}
			return string(b[:])
		}
	}
	return ""
}

func isAMD(vendor string) bool { return vendor == "AuthenticAMD" || vendor == "HygonGenuine" }

// Leaves this function owns; any host copy of them is replaced.
const (
	leafCache     = 0x4
	leafTopo      = 0xb
	leafTopoV2    = 0x1f
	leafExtMax    = 0x80000000
	leafExtFeat   = 0x80000001
	leafL1        = 0x80000005
	leafL2L3      = 0x80000006
	leafAddrSizes = 0x80000008
	leafAMDCache  = 0x8000001d
	leafAMDTopo   = 0x8000001e
	leafAMDTopoV2 = 0x80000026
	topoextBit    = 1 << 22 // 0x80000001 ECX: leaves 0x8000001D/1E exist
)

// TopologyCPUID returns the CPUID table for one vCPU: the host-supported
// leaves with the topology leaves (0x1 EBX/EDX, 0x4, 0xB, 0x1F and, on
// AMD, 0x80000005/6/8, 0x8000001D, 0x8000001E) rewritten for t and c.
func TopologyCPUID(supported []kvm.CPUIDEntry, t topology.Topology, c topology.CPU) []kvm.CPUIDEntry {
	amd := isAMD(cpuidVendor(supported))
	apic := APICID(t, c)
	tb, cb := apicShifts(t)
	pkgShift := tb + cb
	perPkg := uint32(t.CoresPerLLC * t.ThreadsPerCore)
	const sig = kvm.CPUIDFlagSignificantIndex

	var out []kvm.CPUIDEntry
	var maxBasic, maxExt uint32
	for _, e := range supported {
		switch {
		case e.Function == 0:
			maxBasic = e.EAX
		case e.Function == leafExtMax:
			maxExt = e.EAX
		}
	}
	if maxBasic < leafTopoV2 {
		maxBasic = leafTopoV2
	}
	if amd && maxExt < leafAMDTopo {
		maxExt = leafAMDTopo
	}
	have := map[uint32]bool{}
	for _, e := range supported {
		switch e.Function {
		case leafCache, leafTopo, leafTopoV2, leafAMDCache, leafAMDTopo, leafAMDTopoV2:
			continue // rebuilt below
		case 0:
			e.EAX = maxBasic
		case 1:
			e.EBX = e.EBX&0xffff | apic<<24 | (uint32(1)<<pkgShift)&0xff<<16
			if pkgShift > 0 {
				e.EDX |= 1 << 28 // HTT: more than one logical CPU per package
			} else {
				e.EDX &^= 1 << 28
			}
		case leafExtMax:
			e.EAX = maxExt
		case leafExtFeat:
			if amd {
				e.ECX |= topoextBit
			}
		case leafAddrSizes:
			if amd {
				e.ECX = e.ECX&^0xf0ff | (perPkg-1)&0xff | uint32(pkgShift)<<12
			}
		}
		have[e.Function] = true
		out = append(out, e)
	}
	// Basic leaves below the raised maximum that the host lacks read as
	// zero rather than KVM's "highest leaf" fallback.
	for f := uint32(2); f <= maxBasic; f++ {
		if !have[f] && f != leafCache && f != leafTopo && f != leafTopoV2 {
			out = append(out, kvm.CPUIDEntry{Function: f})
		}
	}
	for i, cd := range guestCaches {
		a, b, cc, d := cacheLeaf(t, cd, false)
		out = append(out, kvm.CPUIDEntry{Function: leafCache, Index: uint32(i), Flags: sig, EAX: a, EBX: b, ECX: cc, EDX: d})
	}
	out = append(out, kvm.CPUIDEntry{Function: leafCache, Index: uint32(len(guestCaches)), Flags: sig})
	for _, f := range []uint32{leafTopo, leafTopoV2} {
		out = append(out,
			kvm.CPUIDEntry{Function: f, Index: 0, Flags: sig, EAX: uint32(tb), EBX: uint32(t.ThreadsPerCore), ECX: 0 | 1<<8, EDX: apic},
			kvm.CPUIDEntry{Function: f, Index: 1, Flags: sig, EAX: uint32(pkgShift), EBX: perPkg, ECX: 1 | 2<<8, EDX: apic},
			kvm.CPUIDEntry{Function: f, Index: 2, Flags: sig, ECX: 2, EDX: apic})
	}
	if !amd {
		return out
	}
	l1d, l1i, l2, l3 := guestCaches[0], guestCaches[1], guestCaches[2], guestCaches[3]
	replace := func(e kvm.CPUIDEntry) {
		for i := range out {
			if out[i].Function == e.Function {
				out[i] = e
				return
			}
		}
		out = append(out, e)
	}
	// Legacy AMD cache leaves: the kernel only looks for an L3 at all when
	// 0x80000006 EDX is non-zero.
	replace(kvm.CPUIDEntry{Function: leafL1,
		ECX: l1d.sizeKB<<24 | l1d.ways<<16 | 1<<8 | l1d.lineSize,
		EDX: l1i.sizeKB<<24 | l1i.ways<<16 | 1<<8 | l1i.lineSize})
	replace(kvm.CPUIDEntry{Function: leafL2L3,
		ECX: l2.sizeKB<<16 | 0x6<<12 | 1<<8 | l2.lineSize,        // 0x6: 8-way
		EDX: (l3.sizeKB/512)<<18 | 0x8<<12 | 1<<8 | l3.lineSize}) // 0x8: 16-way
	for f := uint32(leafL1); f <= maxExt; f++ {
		if !have[f] && f != leafL1 && f != leafL2L3 && f != leafAMDCache && f != leafAMDTopo {
			out = append(out, kvm.CPUIDEntry{Function: f})
		}
	}
	for i, cd := range guestCaches {
		a, b, cc, d := cacheLeaf(t, cd, true)
		out = append(out, kvm.CPUIDEntry{Function: leafAMDCache, Index: uint32(i), Flags: sig, EAX: a, EBX: b, ECX: cc, EDX: d})
	}
	out = append(out, kvm.CPUIDEntry{Function: leafAMDCache, Index: uint32(len(guestCaches)), Flags: sig})
	// 0x8000001E: node_id is the LLC, since pre-Zen families take the LLC
	// ID from it; Zen takes it from 0x8000001D's sharing count instead.
	out = append(out, kvm.CPUIDEntry{Function: leafAMDTopo,
		EAX: apic,
		EBX: uint32(t.ThreadsPerCore-1)<<8 | uint32(c.Core)&0xff,
		ECX: uint32(c.LLC) & 0xff})
	// A host leaf 0x80000026 was dropped above and reads as zero (via
	// the loop), so the kernel falls back to leaf 0xB.
	return out
}
