package kvm

import (
	"encoding/binary"
	"fmt"
)

// ExitReason is kvm_run.exit_reason.
type ExitReason uint32

// Exit reasons String names (include/uapi/linux/kvm.h); it prints any other
// as a number.
const (
	ExitUnknown       ExitReason = 0
	ExitException     ExitReason = 1
	ExitIO            ExitReason = 2
	ExitHypercall     ExitReason = 3
	ExitDebug         ExitReason = 4
	ExitHLT           ExitReason = 5
	ExitMMIO          ExitReason = 6
	ExitIRQWindowOpen ExitReason = 7
	ExitShutdown      ExitReason = 8
	ExitFailEntry     ExitReason = 9
	ExitIntr          ExitReason = 10
	ExitInternalError ExitReason = 17
	ExitSystemEvent   ExitReason = 24
)

var exitNames = map[ExitReason]string{
	ExitUnknown: "UNKNOWN", ExitException: "EXCEPTION", ExitIO: "IO", ExitHypercall: "HYPERCALL",
	ExitDebug: "DEBUG", ExitHLT: "HLT", ExitMMIO: "MMIO", ExitIRQWindowOpen: "IRQ_WINDOW_OPEN",
	ExitShutdown: "SHUTDOWN", ExitFailEntry: "FAIL_ENTRY", ExitIntr: "INTR",
	ExitInternalError: "INTERNAL_ERROR", ExitSystemEvent: "SYSTEM_EVENT",
}

func (r ExitReason) String() string {
	if n, ok := exitNames[r]; ok {
		return "KVM_EXIT_" + n
	}
	return fmt.Sprintf("KVM_EXIT(%d)", uint32(r))
}

// Offsets in struct kvm_run (checked against BTF by the tests).
const (
	runExitReason = 8
	runUnion      = 32
)

// Exit returns the reason of the last KVM_RUN exit.
func (c *VCPU) Exit() ExitReason {
	return ExitReason(binary.LittleEndian.Uint32(c.run[runExitReason:]))
}

// IO describes a KVM_EXIT_IO: a port access of Size bytes, Count times,
// whose data lives in the kvm_run page (see IOData).
type IO struct {
	Out   bool
	Size  int
	Port  uint16
	Count int
	off   uint64
}

// IO decodes the kvm_run io exit.
func (c *VCPU) IO() IO {
	u := c.run[runUnion:]
	return IO{
		Out:   u[0] == 1,
		Size:  int(u[1]),
		Port:  binary.LittleEndian.Uint16(u[2:]),
		Count: int(binary.LittleEndian.Uint32(u[4:])),
		off:   binary.LittleEndian.Uint64(u[8:]),
	}
}

// IOData is the data area of an IO exit: bytes written by an OUT, or the
// buffer an IN must fill, Size*Count bytes long. The kvm_run page is
// shared with the kernel, so its offset and lengths are checked rather
// than trusted.
func (c *VCPU) IOData(io IO) ([]byte, error) {
	switch io.Size {
	case 1, 2, 4:
	default:
		return nil, fmt.Errorf("KVM_EXIT_IO on vCPU %d: port %#x access size %d", c.ID, io.Port, io.Size)
	}
	// Size <= 4 and Count < 2^32: the product cannot overflow a uint64.
	n := uint64(io.Size) * uint64(io.Count)
	if io.off > uint64(len(c.run)) || n > uint64(len(c.run))-io.off {
		return nil, fmt.Errorf("KVM_EXIT_IO on vCPU %d: %d bytes at offset %#x overflow the %d-byte kvm_run area", c.ID, n, io.off, len(c.run))
	}
	return c.run[io.off : io.off+n], nil
}

// MMIO describes a KVM_EXIT_MMIO; Data is the kvm_run buffer (Len bytes
// used) to read a write's value from or to fill for a read.
type MMIO struct {
	Addr  uint64
	Data  []byte
	Write bool
}

// MMIO decodes the kvm_run mmio exit.
func (c *VCPU) MMIO() MMIO {
	u := c.run[runUnion:]
	n := binary.LittleEndian.Uint32(u[16:])
	if n > 8 {
		n = 8
	}
	return MMIO{Addr: binary.LittleEndian.Uint64(u), Data: u[8 : 8+n], Write: u[20] != 0}
}

// SystemEvent decodes a KVM_EXIT_SYSTEM_EVENT: 1 shutdown, 2 reset, 3 crash.
func (c *VCPU) SystemEvent() uint32 {
	return binary.LittleEndian.Uint32(c.run[runUnion:])
}

// FailEntryReason is the hardware reason of a KVM_EXIT_FAIL_ENTRY.
func (c *VCPU) FailEntryReason() uint64 {
	return binary.LittleEndian.Uint64(c.run[runUnion:])
}

// InternalError is the suberror of a KVM_EXIT_INTERNAL_ERROR.
func (c *VCPU) InternalError() uint32 {
	return binary.LittleEndian.Uint32(c.run[runUnion:])
}
