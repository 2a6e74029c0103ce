package kvm

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// DevicePath is the KVM device node.
const DevicePath = "/dev/kvm"

// APIVersion is the only KVM API version there has ever been in mainline.
const APIVersion = 12

// System is an open /dev/kvm.
type System struct {
	fd int
}

// Open opens /dev/kvm and checks the API version. Its errors say what is
// wrong with the host: no device, no permission, not KVM, or a foreign
// API.
func Open() (*System, error) { return OpenPath(DevicePath) }

// OpenPath is Open for a KVM device node elsewhere (a container's bind
// mount, a test's stand-in).
func OpenPath(path string) (*System, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, unix.ENOENT):
		return nil, fmt.Errorf("%s does not exist: enable virtualization (VT-x/AMD-V) in firmware, load kvm_intel or kvm_amd, or enable nested virtualization on this VM's host", path)
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return nil, fmt.Errorf("%s exists but is not accessible: add this user to the kvm group (usermod -aG kvm $USER) or run as root", path)
	case err != nil:
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	s := &System{fd: fd}
	v, err := ioctl(fd, reqGetAPIVersion, 0)
	if errors.Is(err, unix.ENOTTY) {
		s.Close()
		return nil, fmt.Errorf("%s is not a KVM device (KVM_GET_API_VERSION: %w)", path, err)
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("KVM_GET_API_VERSION on %s: %w", path, err)
	}
	if v != APIVersion {
		s.Close()
		return nil, fmt.Errorf("%s speaks KVM API version %d, want %d", path, v, APIVersion)
	}
	return s, nil
}

// Close releases the /dev/kvm descriptor. VMs created from it stay valid.
func (s *System) Close() error { return unix.Close(s.fd) }

// CheckExtension returns KVM_CHECK_EXTENSION's answer (0 = unsupported).
func (s *System) CheckExtension(c Capability) (int, error) {
	r, err := ioctl(s.fd, reqCheckExtension, uintptr(c))
	if err != nil {
		return 0, fmt.Errorf("KVM_CHECK_EXTENSION(%s): %w", c, err)
	}
	return int(r), nil
}

// Require returns an error naming the first capability KVM lacks.
func (s *System) Require(caps ...Capability) error {
	for _, c := range caps {
		n, err := s.CheckExtension(c)
		if err != nil {
			return err
		}
		if n <= 0 {
			return fmt.Errorf("%s lacks %s: this kernel's KVM is too old or restricted for the in-repo VMM; use the QEMU backend", DevicePath, c)
		}
	}
	return nil
}

// VCPUMmapSize is the size of the kvm_run area to mmap from each vCPU fd.
func (s *System) VCPUMmapSize() (int, error) {
	r, err := ioctl(s.fd, reqGetVCPUMmapSize, 0)
	if err != nil {
		return 0, fmt.Errorf("KVM_GET_VCPU_MMAP_SIZE: %w", err)
	}
	return int(r), nil
}

// maxCPUIDEntries bounds KVM_GET_SUPPORTED_CPUID; KVM_MAX_CPUID_ENTRIES is 256.
const maxCPUIDEntries = 256

// SupportedCPUID returns the CPUID leaves KVM can expose to a guest.
func (s *System) SupportedCPUID() ([]CPUIDEntry, error) {
	buf := make([]byte, 8+maxCPUIDEntries*int(unsafe.Sizeof(CPUIDEntry{})))
	*(*uint32)(unsafe.Pointer(&buf[0])) = maxCPUIDEntries
	if _, err := ioctl(s.fd, reqGetSupportedCPUID, uintptr(unsafe.Pointer(&buf[0]))); err != nil {
		return nil, fmt.Errorf("KVM_GET_SUPPORTED_CPUID: %w", err)
	}
	n := *(*uint32)(unsafe.Pointer(&buf[0]))
	out := make([]CPUIDEntry, n)
	copy(out, unsafe.Slice((*CPUIDEntry)(unsafe.Pointer(&buf[8])), n))
	return out, nil
}

// CreateVM creates a VM (machine type 0: the default x86 VM).
func (s *System) CreateVM() (*VM, error) {
	r, err := ioctl(s.fd, reqCreateVM, 0)
	if err != nil {
		return nil, fmt.Errorf("KVM_CREATE_VM: %w", err)
	}
	size, err := s.VCPUMmapSize()
	if err != nil {
		unix.Close(int(r))
		return nil, err
	}
	return &VM{fd: int(r), runSize: size}, nil
}

// Usable opens /dev/kvm, checks that it is hardware-assisted (see
// HardwareAssisted), checks caps and that a VM can be created, and closes
// everything again. Its error names the cause (missing device,
// permission, no VT-x/AMD-V, capability, nested virtualization).
func Usable(caps ...Capability) error {
	s, err := Open()
	if err != nil {
		return err
	}
	defer s.Close()
	if err := HardwareAssisted(); err != nil {
		return err
	}
	if err := s.Require(caps...); err != nil {
		return err
	}
	vm, err := s.CreateVM()
	if err != nil {
		return fmt.Errorf("%s opens but cannot create a VM (is virtualization disabled, or another hypervisor holding VT-x/AMD-V?): %w", DevicePath, err)
	}
	vm.Close()
	return nil
}
