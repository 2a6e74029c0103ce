package ktstr

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/kernel/kerneltest"
	"github.com/ktstr-go/ktstr/vmm"
)

// inspector is a VCPUInspector with fixed answers.
type inspector struct {
	vcpus []vmm.VCPUState
	err   error
}

func (i inspector) VCPUStates() ([]vmm.VCPUState, error) { return i.vcpus, i.err }

// A stalled CPU is named from the vmlinux, stack included, with where
// the other vCPUs were; a VMM that cannot tell says why.
func TestStallCapture(t *testing.T) {
	v := kerneltest.Vmlinux(t)
	addr := kerneltest.Symbols(t, "pv_native_safe_halt", "smp_call_function_many_cond", "on_each_cpu_cond_mask")
	vcpus := []vmm.VCPUState{
		{RIP: addr["pv_native_safe_halt"] + 0x17},
		{RIP: addr["smp_call_function_many_cond"] + 0x10, Stack: []uint64{addr["on_each_cpu_cond_mask"] + 0x4}},
	}
	// The BPF functions a scheduler's "attached" record listed.
	const jitBase = 0xffffffffa0000000
	jit := &jitSymbols{}
	jit.add(guest.Record{Kind: guest.KindSched, Data: []byte(fmt.Sprintf(
		`{"event":"attached","name":"wedge","bpf":[{"addr":%d,"size":256,"name":"spin"},{"addr":%d,"size":256,"name":"wedge_tick"}]}`,
		uint64(jitBase+0x100), uint64(jitBase+0x200)))})
	for _, tc := range []struct {
		name string
		in   inspector
		cpu  int
		want string
	}{
		{"stalled cpu1", inspector{vcpus: vcpus}, 1,
			"smp_call_function_many_cond+0x10 (on its stack: on_each_cpu_cond_mask+0x4); meanwhile vCPU 0 in pv_native_safe_halt+0x17"},
		{"stalled cpu0", inspector{vcpus: vcpus}, 0,
			"pv_native_safe_halt+0x17; meanwhile vCPU 1 in smp_call_function_many_cond+0x10"},
		{"in BPF", inspector{vcpus: []vmm.VCPUState{{RIP: jitBase + 0x104, Stack: []uint64{jitBase + 0x230, addr["on_each_cpu_cond_mask"] + 0x4}}}}, 0,
			"bpf_prog_spin+0x4 (on its stack: bpf_prog_wedge_tick+0x30 on_each_cpu_cond_mask+0x4)"},
		{"VM gone", inspector{err: vmm.ErrVMStopped}, 0, "an unknown place (vmm: the VM has stopped)"},
		{"short answer", inspector{vcpus: vcpus[:1]}, 1, "an unknown place (the VMM reported 1 vCPUs)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := stallCapture(tc.in, v, jit)(tc.cpu); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	if got := stallCapture(inspector{vcpus: vcpus}, "/nonexistent", nil)(1); !strings.HasPrefix(got, fmt.Sprintf("rip %#x (", vcpus[1].RIP)) {
		t.Errorf("without a vmlinux: %q, want the bare address and why", got)
	}
}
