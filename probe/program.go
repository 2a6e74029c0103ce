package probe

import (
	"fmt"

	"github.com/cilium/ebpf/asm"
)

// A ring slot (one hit), as the probe programs write it.
const (
	slotTime  = 0  // u64 bpf_ktime_get_ns
	slotProbe = 8  // u32 probe index
	slotCPU   = 12 // u32 CPU
	slotPID   = 16 // u64 pid_tgid
	slotArgs  = 24 // u64[MaxArgs]
	slotSeq   = slotArgs + 8*MaxArgs
	slotSize  = slotSeq + 8 // u64 seq: written last, 1 + the slot's claim number
	// ringSlots is the ring's size, a power of two.
	ringSlots = 1024
	// The head map's one value: the claim counter, and the claim number
	// from which the ring is frozen (0: not frozen).
	headCount  = 0
	headFrozen = 8
	headSize   = 16
	// freezeAfter is how many more slots may be claimed after a probe
	// that freezes the ring fires: the rest of the exit path.
	freezeAfter = 64
)

// flavor is how a probe is attached, which decides where its program
// finds the arguments.
type flavor int

const (
	// viaFentry: a BPF trampoline on a kernel function; the context is
	// the arguments as an array of u64.
	viaFentry flavor = iota
	// viaKprobe: the context is struct pt_regs; arguments are in the
	// registers of the x86-64 calling convention.
	viaKprobe
	// viaFentryBPF: a trampoline on a scheduler's struct_ops program,
	// whose one argument is a pointer to its own arguments (u64 each).
	viaFentryBPF
)

func (f flavor) String() string {
	return [...]string{"fentry", "kprobe", "fentry on BPF"}[f]
}

// argPlan says how a program records one argument.
type argPlan struct {
	index int
	// regOff is where a kprobe finds the argument in struct pt_regs.
	regOff int16
	// derefOff, when derefSize is not 0, records the derefSize-byte
	// field at that offset of what the argument points at (a task's pid,
	// a runqueue's CPU) instead of the pointer.
	derefOff  int32
	derefSize int32
}

// progMaps are the maps every probe program writes.
type progMaps struct {
	counts, head, ring int // file descriptors
}

// program is the BPF code of probe number idx: count the call in a
// per-CPU counter, claim a ring slot with an atomic add on the head
// unless the ring is frozen, fill it (time, CPU, task, arguments) and
// write the slot's sequence number last, so a reader skips slots still
// being written. A freezing probe (sched_ext's exit) then freezes the
// ring freezeAfter claims later, so the calls that led up to it survive
// whatever runs until the guest reads them.
func program(idx int, fl flavor, args []argPlan, freeze bool, m progMaps) (asm.Instructions, error) {
	if len(args) > MaxArgs {
		return nil, fmt.Errorf("%d arguments, at most %d", len(args), MaxArgs)
	}
	ins := asm.Instructions{
		asm.Mov.Reg(asm.R6, asm.R1), // the context, kept across calls
		// counts[idx] += 1 (a per-CPU array: no atomics needed)
		asm.StoreImm(asm.RFP, -4, int64(idx), asm.Word),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, -4),
		asm.LoadMapPtr(asm.R1, m.counts),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "claim"),
		asm.LoadMem(asm.R1, asm.R0, 0, asm.DWord),
		asm.Add.Imm(asm.R1, 1),
		asm.StoreMem(asm.R0, 0, asm.R1, asm.DWord),
		// r9 = &head; out if frozen; r8 = head++ (atomic: every CPU
		// claims from one head)
		asm.StoreImm(asm.RFP, -4, 0, asm.Word).WithSymbol("claim"),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, -4),
		asm.LoadMapPtr(asm.R1, m.head),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "out"),
		asm.Mov.Reg(asm.R9, asm.R0),
		asm.LoadMem(asm.R1, asm.R9, headFrozen, asm.DWord),
		asm.JEq.Imm(asm.R1, 0, "open"),
		asm.LoadMem(asm.R2, asm.R9, headCount, asm.DWord),
		asm.JGE.Reg(asm.R2, asm.R1, "out"),
		asm.Mov.Imm(asm.R8, 1).WithSymbol("open"),
		fetchAdd(asm.R9, asm.R8),
		// r7 = &ring[r8 % ringSlots]
		asm.Mov.Reg(asm.R1, asm.R8),
		asm.And.Imm(asm.R1, ringSlots-1),
		asm.StoreMem(asm.RFP, -4, asm.R1, asm.Word),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, -4),
		asm.LoadMapPtr(asm.R1, m.ring),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "out"),
		asm.Mov.Reg(asm.R7, asm.R0),
		asm.FnKtimeGetNs.Call(),
		asm.StoreMem(asm.R7, slotTime, asm.R0, asm.DWord),
		asm.StoreImm(asm.R7, slotProbe, int64(idx), asm.Word),
		asm.FnGetSmpProcessorId.Call(),
		asm.StoreMem(asm.R7, slotCPU, asm.R0, asm.Word),
		asm.FnGetCurrentPidTgid.Call(),
		asm.StoreMem(asm.R7, slotPID, asm.R0, asm.DWord),
	}
	for j, a := range args {
		ins = append(ins, argInstructions(j, fl, a)...)
	}
	ins = append(ins,
		asm.Add.Imm(asm.R8, 1),
		asm.StoreMem(asm.R7, slotSeq, asm.R8, asm.DWord),
	)
	if freeze {
		// frozen = seq + freezeAfter, unless already set
		ins = append(ins,
			asm.LoadMem(asm.R1, asm.R9, headFrozen, asm.DWord),
			asm.JNE.Imm(asm.R1, 0, "out"),
			asm.Add.Imm(asm.R8, freezeAfter),
			asm.StoreMem(asm.R9, headFrozen, asm.R8, asm.DWord),
		)
	}
	return append(ins, asm.Mov.Imm(asm.R0, 0).WithSymbol("out"), asm.Return()), nil
}

// fetchAdd is `src = atomic_fetch_add((u64 *)dst, src)`. cilium/ebpf
// v0.22 assembles asm.FetchAdd without its fetch bit (Marshal computes
// the immediate before it moves the atomic op there), which makes it a
// plain add that leaves src alone; this builds the same instruction
// with the immediate (BPF_ADD | BPF_FETCH) set directly.
func fetchAdd(dst, src asm.Register) asm.Instruction {
	const bpfFetch = 0x01
	return asm.Instruction{OpCode: asm.AddAtomic.OpCode(asm.DWord), Dst: dst, Src: src, Constant: bpfFetch}
}

// argInstructions record argument a into slot j: load it into r3 (or
// read it through the struct_ops program's argument pointer), then store
// it, or read the field it points at.
func argInstructions(j int, fl flavor, a argPlan) asm.Instructions {
	dst := int16(slotArgs + 8*j)
	skip := fmt.Sprintf("arg%d_done", j)
	// Zeroed first: a dereference or a read that fails leaves 0. (cilium
	// has no 64-bit immediate store.)
	ins := asm.Instructions{asm.Mov.Imm(asm.R1, 0), asm.StoreMem(asm.R7, dst, asm.R1, asm.DWord)}
	switch fl {
	case viaKprobe:
		ins = append(ins, asm.LoadMem(asm.R3, asm.R6, a.regOff, asm.DWord))
	case viaFentry:
		ins = append(ins, asm.LoadMem(asm.R3, asm.R6, int16(8*a.index), asm.DWord))
	case viaFentryBPF:
		ins = append(ins,
			asm.LoadMem(asm.R3, asm.R6, 0, asm.DWord),
			asm.JEq.Imm(asm.R3, 0, skip),
			asm.Add.Imm(asm.R3, int32(8*a.index)),
			asm.Mov.Reg(asm.R1, asm.R7),
			asm.Add.Imm(asm.R1, int32(dst)),
			asm.Mov.Imm(asm.R2, 8),
			asm.FnProbeReadKernel.Call(),
			asm.LoadMem(asm.R3, asm.R7, dst, asm.DWord),
		)
	}
	if a.derefSize == 0 {
		return append(ins,
			asm.StoreMem(asm.R7, dst, asm.R3, asm.DWord),
			asm.Mov.Imm(asm.R0, 0).WithSymbol(skip), // a jump target
		)
	}
	return append(ins,
		asm.JEq.Imm(asm.R3, 0, skip),
		asm.Add.Imm(asm.R3, a.derefOff),
		asm.Mov.Reg(asm.R1, asm.R7),
		asm.Add.Imm(asm.R1, int32(dst)),
		asm.Mov.Imm(asm.R2, a.derefSize),
		asm.FnProbeReadKernel.Call(),
		asm.Mov.Imm(asm.R0, 0).WithSymbol(skip),
	)
}
