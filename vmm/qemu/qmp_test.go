package qemu

import (
	"reflect"
	"slices"
	"testing"

	"github.com/ktstr-go/ktstr/vmm"
)

func TestParseRegisters(t *testing.T) {
	// Trimmed from QEMU 7.2's "info registers -a".
	const long = `
CPU#0
RAX=0000000000000000 RBX=0000000000000000 RCX=0000000000000001 RDX=0000000000004ffe
RSI=0000000000000087 RDI=0000000000000000 RBP=ffffffff81e03e90 RSP=ffffffff81e03e78
RIP=ffffffff814457bb RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=1
ES =0000 0000000000000000 ffffffff 00c00000

CPU#1
RAX=0000000000000000 RBX=0000000000000001 RCX=0000000000000001 RDX=0000000000004ffe
RSI=0000000000000087 RDI=0000000000000001 RBP=ffffc90000073ee8 RSP=ffffc90000073ed0
RIP=ffffffff81c01a2f RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=0
`
	const early = `
CPU#0
EAX=fac83000 EBX=00021064 ECX=0001f408 EDX=0001dc54
ESI=0001f3f8 EDI=000211c4 EBP=0231f410 ESP=000a1f08
EIP=00002b36 EFL=00000002 [-------] CPL=0 II=0 A20=1 SMM=0 HLT=0
`
	for _, tt := range []struct {
		name, text string
		want       []vmm.VCPUState
	}{
		{"64-bit, two CPUs", long, []vmm.VCPUState{{RIP: 0xffffffff814457bb, RSP: 0xffffffff81e03e78}, {RIP: 0xffffffff81c01a2f, RSP: 0xffffc90000073ed0}}},
		{"32-bit", early, []vmm.VCPUState{{RIP: 0x2b36, RSP: 0xa1f08}}},
		{"nothing", "Error: no CPU\n", []vmm.VCPUState{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseRegisters(tt.text); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseRegisters = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseMemoryDump(t *testing.T) {
	const dump = "ffffc90000073ed0: 0x0000000000000000 0xffffffff81c01a2f\r\n" +
		"ffffc90000073ee0: 0xffffc90000073f08 0xffffffff810b9a51\r\n" +
		"Cannot access memory\r\n"
	want := []uint64{0, 0xffffffff81c01a2f, 0xffffc90000073f08, 0xffffffff810b9a51}
	if got := parseMemoryDump(dump); !slices.Equal(got, want) {
		t.Errorf("parseMemoryDump = %#x, want %#x", got, want)
	}
}
