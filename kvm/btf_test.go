package kvm

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"

	"github.com/ktstr-go/ktstr/kernel/kerneltest"
)

func TestLayoutsMatchKernelBTF(t *testing.T) {
	spec := kerneltest.BTF(t)
	cases := []struct {
		cstruct string
		goType  any
		fields  map[string]string // C member -> Go field ("" = skip offset check)
	}{
		{"kvm_regs", Regs{}, map[string]string{"rax": "RAX", "rsi": "RSI", "r15": "R15", "rip": "RIP", "rflags": "RFLAGS"}},
		{"kvm_segment", Segment{}, map[string]string{"base": "Base", "limit": "Limit", "selector": "Selector", "type": "Type", "present": "Present", "dpl": "DPL", "db": "DB", "s": "S", "l": "L", "g": "G", "avl": "AVL", "unusable": "Unusable"}},
		{"kvm_dtable", DTable{}, map[string]string{"base": "Base", "limit": "Limit"}},
		{"kvm_sregs", Sregs{}, map[string]string{"cs": "CS", "tr": "TR", "ldt": "LDT", "gdt": "GDT", "idt": "IDT", "cr0": "CR0", "cr3": "CR3", "cr4": "CR4", "cr8": "CR8", "efer": "EFER", "apic_base": "APICBase", "interrupt_bitmap": "InterruptBitmap"}},
		{"kvm_fpu", FPU{}, map[string]string{"fpr": "FPR", "fcw": "FCW", "fsw": "FSW", "ftwx": "FTWX", "last_opcode": "LastOpcode", "last_ip": "LastIP", "last_dp": "LastDP", "xmm": "XMM", "mxcsr": "MXCSR"}},
		{"kvm_msr_entry", MSREntry{}, map[string]string{"index": "Index", "data": "Data"}},
		{"kvm_cpuid_entry2", CPUIDEntry{}, map[string]string{"function": "Function", "index": "Index", "flags": "Flags", "eax": "EAX", "ebx": "EBX", "ecx": "ECX", "edx": "EDX"}},
		{"kvm_userspace_memory_region", UserspaceMemoryRegion{}, map[string]string{"slot": "Slot", "flags": "Flags", "guest_phys_addr": "GuestPhysAddr", "memory_size": "MemorySize", "userspace_addr": "UserspaceAddr"}},
		{"kvm_lapic_state", LAPICState{}, map[string]string{"regs": "Regs"}},
		{"kvm_pit_config", pitConfig{}, map[string]string{"flags": "Flags"}},
	}
	for _, c := range cases {
		t.Run(c.cstruct, func(t *testing.T) {
			var st *btf.Struct
			if err := spec.TypeByName(c.cstruct, &st); err != nil {
				t.Fatalf("BTF has no struct %s: %v", c.cstruct, err)
			}
			gt := reflect.TypeOf(c.goType)
			if uint32(gt.Size()) != st.Size {
				t.Errorf("size: Go %s is %d bytes, C struct %s is %d", gt.Name(), gt.Size(), c.cstruct, st.Size)
			}
			seen := 0
			for _, m := range st.Members {
				gf, ok := c.fields[m.Name]
				if !ok {
					continue
				}
				seen++
				f, ok := gt.FieldByName(gf)
				if !ok {
					t.Fatalf("Go type %s has no field %s", gt.Name(), gf)
				}
				if got, want := uint32(f.Offset), uint32(m.Offset.Bytes()); got != want {
					t.Errorf("%s.%s at offset %d, C %s.%s at %d", gt.Name(), gf, got, c.cstruct, m.Name, want)
				}
			}
			if seen != len(c.fields) {
				t.Errorf("only %d of %d listed members found in C struct %s", seen, len(c.fields), c.cstruct)
			}
		})
	}
}

func TestKVMRunOffsetsMatchKernelBTF(t *testing.T) {
	spec := kerneltest.BTF(t)
	var run *btf.Struct
	if err := spec.TypeByName("kvm_run", &run); err != nil {
		t.Fatalf("BTF has no struct kvm_run: %v", err)
	}
	offsets := map[string]uint32{}
	var unionOff uint32
	var union *btf.Union
	for _, m := range run.Members {
		// Inside the kernel the field is spelled immediate_exit__unsafe.
		offsets[strings.TrimSuffix(m.Name, "__unsafe")] = m.Offset.Bytes()
		u, ok := m.Type.(*btf.Union)
		if !ok || m.Name != "" {
			continue
		}
		// Anonymous unions: one wraps immediate_exit, one is the exit union.
		for _, um := range u.Members {
			switch um.Name {
			case "immediate_exit":
				offsets[um.Name] = m.Offset.Bytes() + um.Offset.Bytes()
			case "io":
				union, unionOff = u, m.Offset.Bytes()
			}
		}
	}
	if offsets["immediate_exit"] != 1 {
		t.Errorf("immediate_exit at %d, code writes byte 1", offsets["immediate_exit"])
	}
	if offsets["exit_reason"] != runExitReason {
		t.Errorf("exit_reason at %d, code reads %d", offsets["exit_reason"], runExitReason)
	}
	if union == nil || unionOff != runUnion {
		t.Fatalf("exit union at %d (found %v), code reads %d", unionOff, union != nil, runUnion)
	}
	want := map[string]map[string]uint32{
		"io":         {"direction": 0, "size": 1, "port": 2, "count": 4, "data_offset": 8},
		"mmio":       {"phys_addr": 0, "data": 8, "len": 16, "is_write": 20},
		"fail_entry": {"hardware_entry_failure_reason": 0},
	}
	for _, m := range union.Members {
		w, ok := want[m.Name]
		if !ok {
			continue
		}
		st, ok := m.Type.(*btf.Struct)
		if !ok {
			t.Fatalf("kvm_run.%s is %T", m.Name, m.Type)
		}
		for _, f := range st.Members {
			if off, ok := w[f.Name]; ok {
				if f.Offset.Bytes() != off {
					t.Errorf("kvm_run.%s.%s at %d, code uses %d", m.Name, f.Name, f.Offset.Bytes(), off)
				}
				delete(w, f.Name)
			}
		}
		if len(w) != 0 {
			t.Errorf("kvm_run.%s lacks %v", m.Name, w)
		}
		delete(want, m.Name)
	}
	if len(want) != 0 {
		t.Errorf("kvm_run union lacks %v", want)
	}
}

func TestIoctlNumbers(t *testing.T) {
	// Values as printed by the C macros in include/uapi/linux/kvm.h.
	for name, c := range map[string]struct{ got, want uintptr }{
		"KVM_RUN":                    {reqRun, 0xae80},
		"KVM_CREATE_VCPU":            {reqCreateVCPU, 0xae41},
		"KVM_SET_USER_MEMORY_REGION": {reqSetUserMemRegion, 0x4020ae46},
		"KVM_GET_REGS":               {reqGetRegs, 0x8090ae81},
		"KVM_SET_SREGS":              {reqSetSregs, 0x4138ae84},
		"KVM_SET_CPUID2":             {reqSetCPUID2, 0x4008ae90},
		"KVM_GET_SUPPORTED_CPUID":    {reqGetSupportedCPUID, 0xc008ae05},
		"KVM_SET_FPU":                {reqSetFPU, 0x41a0ae8d},
		"KVM_CREATE_PIT2":            {reqCreatePIT2, 0x4040ae77},
		"KVM_IRQ_LINE":               {reqIRQLine, 0x4008ae61},
		"KVM_GET_MSRS":               {reqGetMSRs, 0xc008ae88},
		"KVM_SET_MSRS":               {reqSetMSRs, 0x4008ae89},
		"KVM_SET_LAPIC":              {reqSetLAPIC, 0x4400ae8f},
	} {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", name, c.got, c.want)
		}
	}
}

func TestUsableExplainsMissingDevice(t *testing.T) {
	if _, err := os.Stat(DevicePath); err == nil {
		if err := Usable(CapIRQChip); err != nil {
			t.Logf("/dev/kvm present but not usable: %v", err)
		}
		return
	}
	err := Usable(CapIRQChip)
	if err == nil {
		t.Fatal("Usable() = nil without /dev/kvm")
	}
	if want := "does not exist"; !strings.Contains(err.Error(), want) {
		t.Errorf("Usable() = %q, want it to say %q", err, want)
	}
}
