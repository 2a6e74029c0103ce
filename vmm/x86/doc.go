// Package x86 describes the x86-64 machine a test VM is, from its
// topology.Topology, as plain data: nothing here opens /dev/kvm, so every
// builder is tested on its own.
//
//   - boot.go, boot_params.go, load.go: the Linux 64-bit boot protocol
//     (bzImage parsing, the zero page with its E820 map, the boot GDT and
//     identity page tables, the boot vCPU's entry registers) and Load,
//     which lays a guest's RAM out for its first instruction.
//   - cpuid.go, cpuid_features.go: the CPUID leaves that give each vCPU
//     its APIC ID, caches and siblings, and the features a VMM adds.
//   - acpi.go, ports.go: the ACPI tables (MADT, SRAT, SLIT, FADT, DSDT)
//     and the fixed I/O ports they describe.
//   - memory_split.go: guest RAM split over NUMA nodes below the PCI
//     hole (QEMU's memory backends and the in-repo VMM's SRAT alike).
//   - pagewalk.go: reading a vCPU's stack through its page tables, and
//     WalkPageTables, the host monitor's way to kernel memory outside
//     the direct map.
//
// It takes its register and CPUID types from package kvm; the in-repo VMM
// (vmm/native) hands them to KVM, QEMU (vmm/qemu) uses the memory split.
package x86
