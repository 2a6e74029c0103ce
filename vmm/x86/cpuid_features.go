package x86

import "github.com/ktstr-go/ktstr/kvm"

// Feature bits a VMM must add itself: KVM_GET_SUPPORTED_CPUID leaves them
// out because they describe the VMM's platform, not the host CPU.
const (
	cpuid1ECXTSCDeadline = 1 << 24 // the LAPIC timer has TSC-deadline mode
	cpuid1ECXHypervisor  = 1 << 31 // running under a hypervisor
)

// cpuid80000007EDXInvariantTSC is set by KVM_GET_SUPPORTED_CPUID only
// when the host kernel found its TSC constant (X86_FEATURE_CONSTANT_TSC).
const cpuid80000007EDXInvariantTSC = 1 << 8

// guestBrand is what /proc/cpuinfo shows as "model name".
const guestBrand = "ktstr-go virtual CPU"

// GuestFeatures sets what the VMM itself provides on top of the host CPU:
// the hypervisor bit, without which Linux never looks at KVM's leaves
// 0x40000000+ and boots "on bare hardware" (no kvm-clock, TSC marked
// unstable after a failed calibration, every clock read a PM-timer port
// exit to the VMM: 2-vCPU boots were measured several times slower);
// TSC-deadline mode when asked (see DeadlineTimerUsable); and a brand
// string.
func GuestFeatures(entries []kvm.CPUIDEntry, tscDeadline bool) []kvm.CPUIDEntry {
	out := make([]kvm.CPUIDEntry, 0, len(entries)+3)
	for _, e := range entries {
		switch {
		case e.Function == 1:
			e.ECX |= cpuid1ECXHypervisor
			if tscDeadline {
				e.ECX |= cpuid1ECXTSCDeadline
			}
		case e.Function >= 0x80000002 && e.Function <= 0x80000004:
			continue // replaced below
		}
		out = append(out, e)
	}
	var brand [48]byte
	copy(brand[:], guestBrand)
	le := func(b []byte) uint32 { return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24 }
	for i := 0; i < 3; i++ {
		b := brand[i*16:]
		out = append(out, kvm.CPUIDEntry{Function: 0x80000002 + uint32(i), EAX: le(b), EBX: le(b[4:]), ECX: le(b[8:]), EDX: le(b[12:])})
	}
	return out
}

// DeadlineTimerUsable reports whether the guest should be offered the
// TSC-deadline timer: KVM emulates it (KVM_CAP_TSC_DEADLINE_TIMER) and
// the host's TSC is invariant (entries are KVM_GET_SUPPORTED_CPUID's,
// where KVM sets that bit only with the host's CONSTANT_TSC).
//
// Without an invariant TSC, KVM fixes the guest TSC rate at the host's
// first calibration; if the refined one differs by more than 250 ppm and
// the CPU cannot scale the TSC, KVM leaves the vCPU's TSC scaling ratio
// unset ("user requested TSC rate below hardware speed"), the guest TSC
// it computes stands still, and deadlines are armed about the host's
// uptime late: the guest loses its tick. Seen on a QEMU TCG host (the
// nested proof, docs/kvm.md). One-shot LAPIC timers are kept in
// nanoseconds and do not depend on the TSC.
func DeadlineTimerUsable(entries []kvm.CPUIDEntry, kvmDeadlineTimer bool) bool {
	if !kvmDeadlineTimer {
		return false
	}
	for _, e := range entries {
		if e.Function == 0x80000007 {
			return e.EDX&cpuid80000007EDXInvariantTSC != 0
		}
	}
	return false
}
