// Package vmm is the contract between the test harness and the virtual
// machine monitors that boot its guests, and what every backend shares.
//
// The contract: a Backend starts a Machine from a Config (kernel,
// initramfs, command line, topology.Topology, memory, timeout, console).
// A Machine offers the guest's data channel (its second serial port),
// read access to guest-physical memory, Kill, and Wait, which says how
// the VM ended as an Exit (an ExitReason, a detail, the console's tail,
// and where the vCPUs were when it was killed). Machines may also
// implement two optional capabilities, which callers discover with a type
// assertion: VCPUInspector (where each vCPU is, while the VM runs) and
// VCPUTimer (the host CPU time each vCPU had). Guest memory reads return
// ErrVMStopped once the VM has ended.
//
// Shared by the backends, each written once here: Config.Check (the
// checks no backend could boot without), DefaultMemoryMB, Watch (the
// watchdog that ends a VM on its timeout or its context), KernelCmdline
// (the kernel arguments every guest boots with), ConsoleTail (the
// console's end and whether it showed a kernel panic), ThreadRunTime
// (a thread's CPU time from /proc, for VCPUTimes) and VCPUsDetail.
//
// The backends, each in its own package:
//
//   - vmm/native: the in-repo VMM, which boots the bzImage directly on
//     /dev/kvm through package kvm (backend name "kvm").
//   - vmm/qemu: qemu-system-x86_64, under KVM when /dev/kvm is usable
//     ("qemu-kvm"), else under TCG software emulation ("qemu-tcg").
//
// Package vmm/x86 describes the x86 machine both build from a topology
// and needs no /dev/kvm: boot protocol and zero page, CPUID leaves, ACPI
// tables, the guest-physical memory layout, and a page-table walk.
// Which backend a run uses is the root package's SelectBackend.
package vmm
