package kvm

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// ioctl request encoding, as in include/uapi/asm-generic/ioctl.h.
const (
	iocNone  = 0
	iocWrite = 1
	iocRead  = 2

	kvmio = 0xAE
)

func ioc(dir, nr, size uintptr) uintptr {
	return dir<<30 | size<<16 | kvmio<<8 | nr
}

func io(nr uintptr) uintptr         { return ioc(iocNone, nr, 0) }
func ior(nr, size uintptr) uintptr  { return ioc(iocRead, nr, size) }
func iow(nr, size uintptr) uintptr  { return ioc(iocWrite, nr, size) }
func iowr(nr, size uintptr) uintptr { return ioc(iocRead|iocWrite, nr, size) }
func sizeOf[T any]() uintptr        { var v T; return unsafe.Sizeof(v) }
func ptr[T any](v *T) uintptr       { return uintptr(unsafe.Pointer(v)) }

var (
	reqGetAPIVersion      = io(0x00)
	reqCreateVM           = io(0x01)
	reqCheckExtension     = io(0x03)
	reqGetVCPUMmapSize    = io(0x04)
	reqGetSupportedCPUID  = iowr(0x05, 8) // struct kvm_cpuid2 header
	reqCreateVCPU         = io(0x41)
	reqSetUserMemRegion   = iow(0x46, sizeOf[UserspaceMemoryRegion]())
	reqSetTSSAddr         = io(0x47)
	reqSetIdentityMapAddr = iow(0x48, 8)
	reqCreateIRQChip      = io(0x60)
	reqIRQLine            = iow(0x61, sizeOf[irqLevel]())
	reqCreatePIT2         = iow(0x77, sizeOf[pitConfig]())
	reqRun                = io(0x80)
	reqGetRegs            = ior(0x81, sizeOf[Regs]())
	reqSetRegs            = iow(0x82, sizeOf[Regs]())
	reqGetSregs           = ior(0x83, sizeOf[Sregs]())
	reqSetSregs           = iow(0x84, sizeOf[Sregs]())
	reqGetMSRs            = iowr(0x88, 8) // struct kvm_msrs header
	reqSetMSRs            = iow(0x89, 8)  // struct kvm_msrs header
	reqGetFPU             = ior(0x8c, sizeOf[FPU]())
	reqSetFPU             = iow(0x8d, sizeOf[FPU]())
	reqGetLAPIC           = ior(0x8e, sizeOf[LAPICState]())
	reqSetLAPIC           = iow(0x8f, sizeOf[LAPICState]())
	reqSetCPUID2          = iow(0x90, 8) // struct kvm_cpuid2 header
)

// ioctl issues one ioctl, retrying on EINTR. VCPU.Run does not use it:
// KVM_RUN must return EINTR so the caller can notice a stop request.
func ioctl(fd int, req, arg uintptr) (uintptr, error) {
	for {
		r, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, arg)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return r, e
		}
		return r, nil
	}
}
