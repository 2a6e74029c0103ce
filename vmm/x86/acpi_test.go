package x86

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/topology"
)

// disassemble runs `iasl -d` on one table and returns the .dsl text and
// iasl's own output.
func disassemble(t *testing.T, dir, sig string, table []byte) (string, string) {
	t.Helper()
	bin := filepath.Join(dir, strings.ToLower(sig)+".dat")
	if err := os.WriteFile(bin, table, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("iasl", "-d", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("iasl -d %s: %v\n%s", sig, err, out)
	}
	dsl, err := os.ReadFile(strings.TrimSuffix(bin, ".dat") + ".dsl")
	if err != nil {
		t.Fatalf("iasl wrote no .dsl for %s: %v\n%s", sig, err, out)
	}
	return string(dsl), string(out)
}

var (
	reErrors   = regexp.MustCompile(`(?i)\b(error|warning)s?\b`)
	reLAPICID  = regexp.MustCompile(`Local Apic ID : ([0-9A-F]{2})`)
	reProxDom  = regexp.MustCompile(`Proximity Domain Low\(8\) : ([0-9A-F]{2})\n[^\n]*Apic ID : ([0-9A-F]{2})`)
	reMemRange = regexp.MustCompile(`Proximity Domain : ([0-9A-F]{8})[\s\S]*?Base Address : ([0-9A-F]{16})\n[^\n]*Address Length : ([0-9A-F]{16})`)
)

func TestACPITablesDisassembleCleanly(t *testing.T) {
	if _, err := exec.LookPath("iasl"); err != nil {
		t.Skip("iasl not installed (Debian: apt-get install acpica-tools)")
	}
	for _, shape := range []string{"1n1l1c1t", "1n2l2c2t", "2n2l2c1t", "4n8l2c2t", "2n4l8c2t"} {
		tp := topology.Must(shape)
		t.Run(shape, func(t *testing.T) {
			per := uint64(256 << 20)
			var mem []NodeMemory
			for n := 0; n < tp.NUMANodes; n++ {
				mem = append(mem, NodeMemory{Node: n, Base: uint64(n) * per, Size: per})
			}
			at, err := BuildACPI(tp, 0xe0000, mem)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			dsl := map[string]string{}
			// This iasl cannot read a bare RSDP; check it here instead.
			rsdp := at.Blob[:36]
			if acpiChecksum(rsdp[:20]) != 0 || acpiChecksum(rsdp) != 0 || string(rsdp[:8]) != "RSD PTR " {
				t.Errorf("RSDP checksums or signature wrong: % x", rsdp)
			}
			xsdtOff := binary.LittleEndian.Uint64(rsdp[24:]) - at.Base
			if !bytes.Equal(at.Blob[xsdtOff:xsdtOff+uint64(len(at.Tables["XSDT"]))], at.Tables["XSDT"]) {
				t.Errorf("RSDP's XSDT address %#x does not hold the XSDT", xsdtOff+at.Base)
			}
			for _, sig := range []string{"XSDT", "RSDT", "FACP", "FACS", "DSDT", "APIC", "SRAT", "SLIT"} {
				text, out := disassemble(t, dir, sig, at.Tables[sig])
				// iasl prints its banner plus "0 Errors"-style summaries
				// only when compiling; a disassembly prints none unless
				// something is wrong, and marks bad checksums in the .dsl.
				for _, l := range strings.Split(out, "\n") {
					if reErrors.MatchString(l) && !strings.Contains(l, "Optimizing Compiler") {
						t.Errorf("iasl -d %s: %s", sig, l)
					}
				}
				if strings.Contains(text, "Incorrect checksum") || strings.Contains(text, "**** ") {
					t.Errorf("%s disassembly flags a problem:\n%s", sig, text)
				}
				dsl[sig] = text
			}
			layout := tp.Layout()
			// MADT: one enabled local APIC per CPU, with our APIC IDs.
			var ids []string
			for _, m := range reLAPICID.FindAllStringSubmatch(dsl["APIC"], -1) {
				ids = append(ids, m[1])
			}
			var want []string
			for _, c := range layout {
				want = append(want, fmt.Sprintf("%02X", APICID(tp, c)))
			}
			if fmt.Sprint(ids) != fmt.Sprint(want) {
				t.Errorf("MADT local APIC IDs %v, want %v", ids, want)
			}
			// SRAT: each APIC ID in its node; each node's memory range.
			pd := reProxDom.FindAllStringSubmatch(dsl["SRAT"], -1)
			if len(pd) != len(layout) {
				t.Fatalf("SRAT has %d CPU affinity entries, want %d\n%s", len(pd), len(layout), dsl["SRAT"])
			}
			for i, c := range layout {
				if w := fmt.Sprintf("%02X", c.Node); pd[i][1] != w || pd[i][2] != want[i] {
					t.Errorf("SRAT cpu %d: node %s apic %s, want node %s apic %s", i, pd[i][1], pd[i][2], w, want[i])
				}
			}
			mr := reMemRange.FindAllStringSubmatch(dsl["SRAT"], -1)
			if len(mr) != tp.NUMANodes {
				t.Errorf("SRAT has %d memory ranges, want %d", len(mr), tp.NUMANodes)
			}
			for n, m := range mr {
				if m[1] != fmt.Sprintf("%08X", n) || m[2] != fmt.Sprintf("%016X", uint64(n)*per) || m[3] != fmt.Sprintf("%016X", per) {
					t.Errorf("SRAT memory %d: %v", n, m[1:])
				}
			}
			// SLIT: 10 on the diagonal, 20 elsewhere.
			if !strings.Contains(dsl["SLIT"], fmt.Sprintf("Localities : %016X", tp.NUMANodes)) {
				t.Errorf("SLIT locality count wrong:\n%s", dsl["SLIT"])
			}
			for a := 0; a < tp.NUMANodes; a++ {
				var row []string
				for b := 0; b < tp.NUMANodes; b++ {
					row = append(row, fmt.Sprintf("%02X", topology.NodeDistance(a, b)))
				}
				if !strings.Contains(dsl["SLIT"], fmt.Sprintf("Locality %3d : %s", a, strings.Join(row, " "))) {
					t.Errorf("SLIT row %d want %v:\n%s", a, row, dsl["SLIT"])
				}
			}
			for _, s := range []string{`Name (_S5, Package (0x04)`, `"QEMU0001"`, `IO (Decode16`, `0x0505`} {
				if !strings.Contains(dsl["DSDT"], s) {
					t.Errorf("DSDT lacks %q:\n%s", s, dsl["DSDT"])
				}
			}
			for _, s := range []string{"PM1A Control Block Address : 00000604", "Reset Register"} {
				if !strings.Contains(dsl["FACP"], s) {
					t.Errorf("FADT lacks %q", s)
				}
			}
		})
	}
}
