// Package native is the in-repo VMM: it boots a bzImage directly on
// /dev/kvm (package kvm), no QEMU. Its backend is named "kvm" (ktstr
// --backend kvm). The machine it builds comes from package x86 (boot
// protocol, CPUID leaves, ACPI tables); this package creates the VM and
// its vCPUs, emulates the few devices the guest touches (two 16550 UARTs,
// ACPI PM registers, pvpanic, the reset ports) and runs one thread per
// vCPU. docs/kvm.md describes the machine and how it is tested.
package native

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr/kvm"
	"github.com/ktstr-go/ktstr/vmm"
	"github.com/ktstr-go/ktstr/vmm/x86"
)

// Backend is the in-repo VMM as a vmm.Backend: it boots a bzImage
// directly on /dev/kvm with the requested topology (APIC IDs, CPUID
// leaves, ACPI MADT/SRAT/SLIT), two 16550 UARTs (console on ttyS0, data
// channel on ttyS1), ACPI power-off and a pvpanic port. No firmware, no
// PCI, no disks.
type Backend struct{}

// New returns the in-repo VMM's backend.
func New() *Backend { return &Backend{} }

// Name is "kvm".
func (*Backend) Name() string { return "kvm" }

// Available reports why /dev/kvm cannot run the in-repo VMM, if it cannot.
func (*Backend) Available() error { return kvm.Usable(kvmCaps...) }

// DeadlineTimer reports whether the in-repo VMM offers its guests the
// TSC-deadline timer on this host's /dev/kvm (see x86.DeadlineTimerUsable).
func DeadlineTimer() (bool, error) {
	sys, err := kvm.Open()
	if err != nil {
		return false, err
	}
	defer sys.Close()
	supported, err := sys.SupportedCPUID()
	if err != nil {
		return false, err
	}
	return deadlineTimer(sys, supported, zap.NewNop()), nil
}

// deadlineTimer decides DeadlineTimer for sys, whose supported CPUID
// the caller already has.
func deadlineTimer(sys *kvm.System, supported []kvm.CPUIDEntry, log *zap.Logger) bool {
	n, _ := sys.CheckExtension(kvm.CapTSCDeadline)
	usable := x86.DeadlineTimerUsable(supported, n > 0)
	if n > 0 && !usable {
		log.Debug("host TSC is not invariant: the guest gets one-shot LAPIC timers, not TSC-deadline")
	}
	return usable
}

// kvmCaps are the KVM capabilities the in-repo VMM cannot boot without.
var kvmCaps = []kvm.Capability{kvm.CapIRQChip, kvm.CapUserMemory, kvm.CapSetTSSAddr, kvm.CapExtCPUID, kvm.CapPIT2, kvm.CapImmediateExit}

const (
	kvmTailLines   = 60
	kvmTSSAddr     = 0xfffbd000
	kvmIdentityMap = 0xfffbc000
	comConsoleIRQ  = 4
	comChannelIRQ  = 3
	msrIA32TSC     = 0x10
)

// Start boots a VM and returns at once; the vCPUs run in their own threads.
func (k *Backend) Start(ctx context.Context, cfg vmm.Config) (vmm.Machine, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	log, t := cfg.Logger(), cfg.Topology
	kernel, err := os.ReadFile(cfg.Kernel)
	if err != nil {
		return nil, fmt.Errorf("vmm: reading kernel: %w", err)
	}
	bz, err := x86.ParseBzImage(kernel)
	if err != nil {
		return nil, fmt.Errorf("vmm: %s: %w", cfg.Kernel, err)
	}
	var initrd []byte
	if cfg.Initramfs != "" {
		if initrd, err = os.ReadFile(cfg.Initramfs); err != nil {
			return nil, fmt.Errorf("vmm: reading initramfs: %w", err)
		}
	}
	nodes, err := x86.SplitMemory(cfg.GuestMemoryMB(), t.NUMANodes)
	if err != nil {
		return nil, err
	}
	last := nodes[len(nodes)-1]
	size := last.Base + last.Size

	sys, err := kvm.Open()
	if err != nil {
		return nil, err
	}
	defer sys.Close()
	if err := sys.Require(kvmCaps...); err != nil {
		return nil, err
	}
	supported, err := sys.SupportedCPUID()
	if err != nil {
		return nil, err
	}
	tscDeadline := deadlineTimer(sys, supported, log)
	m := &machine{
		log:     log,
		tail:    vmm.NewConsoleTail(kvmTailLines),
		channel: newByteQueue(),
		done:    make(chan struct{}),
		started: time.Now(),
	}
	ok := false
	defer func() {
		if !ok {
			m.release()
		}
	}()
	if m.vm, err = sys.CreateVM(); err != nil {
		return nil, fmt.Errorf("%w (is /dev/kvm usable? nested virtualization must be on inside a VM)", err)
	}
	if m.mem, err = unix.Mmap(-1, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE); err != nil {
		return nil, fmt.Errorf("vmm: allocating %d MiB of guest RAM: %w", size>>20, err)
	}
	if err := m.vm.SetUserMemoryRegion(0, 0, m.mem); err != nil {
		return nil, err
	}
	if err := m.vm.SetTSSAddr(kvmTSSAddr); err != nil {
		return nil, err
	}
	if err := m.vm.SetIdentityMapAddr(kvmIdentityMap); err != nil {
		return nil, err
	}
	if err := m.vm.CreateIRQChip(); err != nil {
		return nil, err
	}
	if err := m.vm.CreatePIT2(); err != nil {
		return nil, err
	}
	if err := x86.Load(m.mem, t, nodes, bz, initrd, vmm.KernelCmdline(cfg.Cmdline)); err != nil {
		return nil, err
	}

	var console consoleSink
	console.w = []io.Writer{m.tail}
	if cfg.Console != nil {
		console.w = append(console.w, cfg.Console)
	}
	m.console = &console
	m.com1 = newUART(comConsoleIRQ, m.setIRQ, console.writeByte)
	m.com2 = newUART(comChannelIRQ, m.setIRQ, m.channel.writeByte)

	for _, c := range t.Layout() {
		id := int(x86.APICID(t, c))
		v, err := m.vm.CreateVCPU(id)
		if err != nil {
			return nil, err
		}
		m.vcpus = append(m.vcpus, &vcpuThread{VCPU: v, peeks: make(chan chan<- peekReply, 1)})
		if err := v.SetCPUID(x86.GuestFeatures(x86.TopologyCPUID(supported, t, c), tscDeadline)); err != nil {
			return nil, err
		}
		if err := setBootMSRs(v); err != nil {
			return nil, err
		}
		if err := setupLINT(v); err != nil {
			return nil, err
		}
		if c.ID == 0 {
			if err := setupBSP(v); err != nil {
				return nil, err
			}
		}
	}
	// Write every TSC in a tight loop so KVM treats the writes as one
	// synchronization (it matches writes close in time) and gives all
	// vCPUs the same TSC offset, as QEMU does at reset.
	for _, v := range m.vcpus {
		if err := v.SetMSRs([]kvm.MSREntry{{Index: msrIA32TSC, Data: 0}}); err != nil {
			return nil, err
		}
	}
	ok = true
	if cfg.Interactive && cfg.Stdin != nil {
		go m.pumpStdin(cfg.Stdin)
	}
	var wg sync.WaitGroup
	for _, v := range m.vcpus {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.runVCPU(v)
		}()
	}
	go vmm.Watch(ctx, cfg.Timeout, m.done, m.stop)
	go func() {
		wg.Wait()
		m.finish()
	}()
	log.Debug("kvm vm started", zap.Stringer("topology", t), zap.Uint64("mem_mb", size>>20))
	return m, nil
}
