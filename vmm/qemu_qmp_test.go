package vmm

import (
	"slices"
	"testing"
)

func TestParseRIPs(t *testing.T) {
	// Trimmed from QEMU 7.2's "info registers -a".
	const long = `
CPU#0
RAX=0000000000000000 RBX=0000000000000000 RCX=0000000000000001 RDX=0000000000004ffe
RIP=ffffffff814457bb RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=1
ES =0000 0000000000000000 ffffffff 00c00000

CPU#1
RAX=0000000000000000 RBX=0000000000000001 RCX=0000000000000001 RDX=0000000000004ffe
RIP=ffffffff81c01a2f RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=0
`
	const early = `
CPU#0
EAX=fac83000 EBX=00021064 ECX=0001f408 EDX=0001dc54
EIP=00002b36 EFL=00000002 [-------] CPL=0 II=0 A20=1 SMM=0 HLT=0
`
	for _, tt := range []struct {
		name, text string
		want       []uint64
	}{
		{"64-bit, two CPUs", long, []uint64{0xffffffff814457bb, 0xffffffff81c01a2f}},
		{"32-bit", early, []uint64{0x2b36}},
		{"nothing", "Error: no CPU\n", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseRIPs(tt.text); !slices.Equal(got, tt.want) {
				t.Errorf("parseRIPs = %#x, want %#x", got, tt.want)
			}
		})
	}
}

func TestRIPsDetail(t *testing.T) {
	if got, want := ripsDetail([]uint64{0x10, 0xffffffff81000000}), " (vCPU 0 at rip 0x10, vCPU 1 at rip 0xffffffff81000000)"; got != want {
		t.Errorf("ripsDetail = %q, want %q", got, want)
	}
	if got := ripsDetail(nil); got != "" {
		t.Errorf("ripsDetail(nil) = %q, want empty", got)
	}
}
