// Package probe counts and records calls of kernel functions and of the
// scheduler's own BPF programs inside the guest, with their arguments.
//
// A test names the functions (Spec: a function and the arguments to
// record, by their BTF names); the guest attaches one small BPF program
// per function: a kprobe on a kernel function (before the scheduler
// starts), fentry on a scheduler's struct_ops program (once it has
// attached; the arguments are those of the sched_ext_ops member it
// implements). What the kernel's BTF says of those functions (a Table:
// their parameters and types, pt_regs' layout) the host reads from the
// vmlinux, so the guest does not parse its own BTF; a guest given no
// Table parses it, and then uses fentry on kernel functions too. The
// programs are generated at run time with cilium/ebpf's asm package, so no
// compiler is needed. Each hit bumps a per-CPU counter and writes a
// record (time, CPU, task, arguments) into a ring in a memory-mapped BPF
// array, so the probed path never waits on user space; the guest reads
// the counters and the new part of the ring every second and sends a
// Report to the host (counts and a sample of hits), and the whole ring,
// the calls that led up to it, when the scheduler dies and at the end.
// Arguments are rendered by their BTF types: enums by name, integers in
// decimal, and pointers to a task, a runqueue or a dispatch queue as the
// task's pid, the runqueue's CPU and the queue's ID, read at the hit.
//
// A function the kernel cannot probe (inlined, notrace, not in BTF for a
// named argument) is reported in Report.Missing and the rest run on.
package probe
