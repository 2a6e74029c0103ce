package x86

import (
	"encoding/binary"
	"fmt"

	"github.com/ktstr-go/ktstr/topology"
)

// ACPI tables describing the VM: where the CPUs are (MADT), which NUMA
// node each CPU and memory range belongs to (SRAT), node distances
// (SLIT), and the fixed hardware the guest uses to power off (FADT PM1a
// control block, with \_S5 in the DSDT). Layouts follow the ACPI 6.x
// specification; acpi_test.go disassembles them with iasl.

// What the tables say about the platform beyond the ports in ports.go.
const (
	acpiResetVal = 0x06
	acpiSCI      = 9
	ioapicAddr   = 0xfec00000
	lapicAddr    = 0xfee00000
)

const (
	acpiOEMID      = "KTSTR "
	acpiOEMTableID = "KTSTRVM "
	acpiCreatorID  = "KTGO"
)

// ACPITables is the table set at a guest-physical base address.
type ACPITables struct {
	// Blob is copied to guest memory at Base; the RSDP is at Base.
	Blob []byte
	Base uint64
	// Tables maps each signature to its bytes (for tests and debugging).
	Tables map[string][]byte
}

func acpiHeader(sig string, length int, rev uint8) []byte {
	h := make([]byte, length)
	copy(h[0:4], sig)
	binary.LittleEndian.PutUint32(h[4:], uint32(length))
	h[8] = rev
	copy(h[10:16], acpiOEMID)
	copy(h[16:24], acpiOEMTableID)
	binary.LittleEndian.PutUint32(h[24:], 1)
	copy(h[28:32], acpiCreatorID)
	binary.LittleEndian.PutUint32(h[32:], 1)
	return h
}

func acpiChecksum(b []byte) uint8 {
	var s uint8
	for _, c := range b {
		s += c
	}
	return -s
}

// finish sets the length and checksum of a table built by appending.
func finish(t []byte) []byte {
	binary.LittleEndian.PutUint32(t[4:], uint32(len(t)))
	t[9] = 0
	t[9] = acpiChecksum(t)
	return t
}

// gas is an ACPI Generic Address Structure for a system-I/O register.
func gas(port uint64, bitWidth, accessSize uint8) []byte {
	g := make([]byte, 12)
	g[0] = 1 // SystemIO
	g[1] = bitWidth
	g[3] = accessSize
	binary.LittleEndian.PutUint64(g[4:], port)
	return g
}

func le16(b []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(b, v) }
func le32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }
func le64(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }

// BuildACPI lays the tables out from base (16-byte aligned, in a region
// the E820 map reserves) for topology t and the per-node memory ranges.
func BuildACPI(t topology.Topology, base uint64, mem []NodeMemory) (*ACPITables, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	layout := t.Layout()

	// Each table's address is known once the previous ones are placed.
	var blob []byte
	place := func(tbl []byte, align int) uint64 {
		for len(blob)%align != 0 {
			blob = append(blob, 0)
		}
		addr := base + uint64(len(blob))
		blob = append(blob, tbl...)
		return addr
	}
	tables := map[string][]byte{}

	blob = make([]byte, 36) // RSDP, filled in last

	facs := make([]byte, 64)
	copy(facs, "FACS")
	binary.LittleEndian.PutUint32(facs[4:], 64)
	facs[32] = 2 // version
	facsAddr := place(facs, 64)
	tables["FACS"] = facs

	dsdt := finish(append(acpiHeader("DSDT", 36, 2), dsdtAML()...))
	dsdtAddr := place(dsdt, 16)
	tables["DSDT"] = dsdt

	fadt := buildFADT(uint32(facsAddr), dsdtAddr)
	fadtAddr := place(fadt, 16)
	tables["FACP"] = fadt

	madt := acpiHeader("APIC", 36, 5)
	madt = le32(madt, lapicAddr)
	madt = le32(madt, 1) // PCAT_COMPAT: dual 8259 PICs present
	for _, c := range layout {
		madt = append(madt, 0, 8, uint8(c.ID), uint8(APICID(t, c)))
		madt = le32(madt, 1) // enabled
	}
	madt = append(madt, 1, 12, 0, 0) // I/O APIC 0
	madt = le32(madt, ioapicAddr)
	madt = le32(madt, 0)                   // GSI base
	madt = append(madt, 2, 10, 0, acpiSCI) // SCI override: ISA 9, level, active high
	madt = le32(madt, acpiSCI)
	madt = le16(madt, 0x000d)
	madt = append(madt, 4, 6, 0xff, 0x05, 0x00, 1) // NMI on LINT1 of all CPUs
	madt = finish(madt)
	madtAddr := place(madt, 16)
	tables["APIC"] = madt

	srat := acpiHeader("SRAT", 36, 3)
	srat = le32(srat, 1)
	srat = le64(srat, 0)
	for _, c := range layout {
		srat = append(srat, 0, 16, uint8(c.Node), uint8(APICID(t, c)))
		srat = le32(srat, 1)            // enabled
		srat = append(srat, 0, 0, 0, 0) // SAPIC EID, proximity domain [31:8]
		srat = le32(srat, 0)            // clock domain
	}
	for _, m := range mem {
		if m.Node < 0 || m.Node >= t.NUMANodes {
			return nil, fmt.Errorf("acpi: memory range for node %d, topology %s has %d nodes", m.Node, t, t.NUMANodes)
		}
		srat = append(srat, 1, 40)
		srat = le32(srat, uint32(m.Node))
		srat = le16(srat, 0)
		srat = le64(srat, m.Base)
		srat = le64(srat, m.Size)
		srat = le32(srat, 0)
		srat = le32(srat, 1) // enabled
		srat = le64(srat, 0)
	}
	srat = finish(srat)
	sratAddr := place(srat, 16)
	tables["SRAT"] = srat

	slit := acpiHeader("SLIT", 36, 1)
	slit = le64(slit, uint64(t.NUMANodes))
	for a := 0; a < t.NUMANodes; a++ {
		for b := 0; b < t.NUMANodes; b++ {
			slit = append(slit, uint8(topology.NodeDistance(a, b)))
		}
	}
	slit = finish(slit)
	slitAddr := place(slit, 16)
	tables["SLIT"] = slit

	ptrs := []uint64{fadtAddr, madtAddr, sratAddr, slitAddr}
	xsdt := acpiHeader("XSDT", 36, 1)
	rsdt := acpiHeader("RSDT", 36, 1)
	for _, p := range ptrs {
		xsdt = le64(xsdt, p)
		rsdt = le32(rsdt, uint32(p))
	}
	xsdt, rsdt = finish(xsdt), finish(rsdt)
	xsdtAddr := place(xsdt, 16)
	rsdtAddr := place(rsdt, 16)
	tables["XSDT"], tables["RSDT"] = xsdt, rsdt

	rsdp := blob[:36]
	copy(rsdp, "RSD PTR ")
	copy(rsdp[9:15], acpiOEMID)
	rsdp[15] = 2 // ACPI 2.0+
	binary.LittleEndian.PutUint32(rsdp[16:], uint32(rsdtAddr))
	binary.LittleEndian.PutUint32(rsdp[20:], 36)
	binary.LittleEndian.PutUint64(rsdp[24:], xsdtAddr)
	rsdp[8] = acpiChecksum(rsdp[:20])
	rsdp[32] = acpiChecksum(rsdp)
	tables["RSDP"] = append([]byte(nil), rsdp...)
	return &ACPITables{Blob: blob, Base: base, Tables: tables}, nil
}

// buildFADT returns an ACPI 6.0 FADT (276 bytes): PM1a event/control
// blocks and a PM timer in I/O space, a reset register, no 8042, no VGA,
// no CMOS RTC, and no SMI command port (the VM is always in ACPI mode).
func buildFADT(facs uint32, dsdt uint64) []byte {
	f := acpiHeader("FACP", 276, 6)
	le := binary.LittleEndian
	le.PutUint32(f[36:], facs)
	le.PutUint32(f[40:], uint32(dsdt))
	f[45] = 0 // preferred PM profile: unspecified
	le.PutUint16(f[46:], acpiSCI)
	le.PutUint32(f[56:], PM1aEvtPort)
	le.PutUint32(f[64:], PM1aCntPort)
	le.PutUint32(f[76:], PMTimerPort)
	f[88] = 4                        // PM1_EVT_LEN
	f[89] = 2                        // PM1_CNT_LEN
	f[91] = 4                        // PM_TMR_LEN
	le.PutUint16(f[96:], 101)        // P_LVL2_LAT > 100: C2 unsupported
	le.PutUint16(f[98:], 1001)       // P_LVL3_LAT > 1000: C3 unsupported
	le.PutUint16(f[109:], 1<<2|1<<5) // IAPC_BOOT_ARCH: no VGA, no CMOS RTC (and no 8042)
	const (
		wbinvd      = 1 << 0
		procC1      = 1 << 2
		pwrButton   = 1 << 4 // no fixed power button
		slpButton   = 1 << 5 // no fixed sleep button
		tmrValExt   = 1 << 8 // 32-bit PM timer
		resetRegSup = 1 << 10
	)
	le.PutUint32(f[112:], wbinvd|procC1|pwrButton|slpButton|tmrValExt|resetRegSup)
	copy(f[116:], gas(ResetRegPort, 8, 1))
	f[128] = acpiResetVal
	f[131] = 0 // FADT minor version
	le.PutUint64(f[132:], uint64(facs))
	le.PutUint64(f[140:], dsdt)
	copy(f[148:], gas(PM1aEvtPort, 32, 2))
	copy(f[172:], gas(PM1aCntPort, 16, 2))
	copy(f[208:], gas(PMTimerPort, 32, 3))
	copy(f[268:], "KTSTRGO\x00") // hypervisor vendor identity
	return finish(f)
}

// AML encoding, just enough for the DSDT below.
func amlPkgLength(bodyLen int) []byte {
	// The encoded length counts its own bytes.
	for n := 1; n <= 4; n++ {
		total := bodyLen + n
		if n == 1 && total < 0x40 {
			return []byte{byte(total)}
		}
		if n > 1 && total < 1<<(4+8*(n-1)) {
			b := []byte{byte(n-1)<<6 | byte(total&0xf)}
			for i := 1; i < n; i++ {
				b = append(b, byte(total>>(4+8*(i-1))))
			}
			return b
		}
	}
	panic("aml: package too long")
}

func amlName(seg string, value []byte) []byte {
	return append(append([]byte{0x08}, seg...), value...)
}

func amlString(s string) []byte { return append(append([]byte{0x0d}, s...), 0) }

func amlBuffer(data []byte) []byte {
	body := append([]byte{0x0a, byte(len(data))}, data...) // BufferSize as a ByteConst
	return append(append([]byte{0x11}, amlPkgLength(len(body))...), body...)
}

func amlScope(path string, body []byte) []byte {
	b := append([]byte(path), body...)
	return append(append([]byte{0x10}, amlPkgLength(len(b))...), b...)
}

func amlDevice(seg string, body []byte) []byte {
	b := append([]byte(seg), body...)
	return append(append([]byte{0x5b, 0x82}, amlPkgLength(len(b))...), b...)
}

// dsdtAML is \_S5 (so the kernel can power off through PM1a control) and
// a pvpanic device (QEMU0001 at port 0x505) that reports guest panics.
func dsdtAML() []byte {
	// Package(4){5, 0, 0, 0}: PM1a SLP_TYP, PM1b SLP_TYP, reserved.
	pkgBody := []byte{4, 0x0a, S5SleepType, 0x00, 0x00, 0x00}
	s5 := amlName("_S5_", append(append([]byte{0x12}, amlPkgLength(len(pkgBody))...), pkgBody...))
	io := []byte{0x47, 0x01, PvpanicPort & 0xff, PvpanicPort >> 8, PvpanicPort & 0xff, PvpanicPort >> 8, 1, 1}
	crs := amlBuffer(append(io, 0x79, 0x00)) // End tag, checksum 0 = none
	dev := amlDevice("PEVT", append(amlName("_HID", amlString("QEMU0001")), amlName("_CRS", crs)...))
	return append(s5, amlScope("\\_SB_", dev)...)
}
