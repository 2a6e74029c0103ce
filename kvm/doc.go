// Package kvm is a thin, typed wrapper over the Linux /dev/kvm API for
// x86-64: the system, VM and vCPU file descriptors, memory slots, register
// state, CPUID, MSRs, the in-kernel irqchip and PIT, and KVM_RUN with its
// shared kvm_run page. It holds no policy: what to put in the registers and
// how to answer an exit is the caller's business (see package vmm).
//
// Struct layouts mirror include/uapi/linux/kvm.h and
// arch/x86/include/uapi/asm/kvm.h; the tests compare them with the BTF of
// a kernel built with KVM.
package kvm
