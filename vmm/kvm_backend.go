package vmm

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
)

// KVM is the in-repo VMM: it boots a bzImage directly on /dev/kvm with
// the requested topology (APIC IDs, CPUID leaves, ACPI MADT/SRAT/SLIT),
// two 16550 UARTs (console on ttyS0, data channel on ttyS1), ACPI
// power-off and a pvpanic port. No firmware, no PCI, no disks.
type KVM struct{}

// NewKVMBackend returns the in-repo KVM backend.
func NewKVMBackend() Backend { return &KVM{} }

// Name is "kvm".
func (*KVM) Name() string { return "kvm" }

// Available reports why /dev/kvm cannot run the in-repo VMM, if it cannot.
func (*KVM) Available() error { return kvm.Usable(kvmCaps...) }

// KVMDeadlineTimer reports whether the in-repo VMM offers its guests the
// TSC-deadline timer on this host's /dev/kvm (see DeadlineTimerUsable).
func KVMDeadlineTimer() (bool, error) {
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

// deadlineTimer decides KVMDeadlineTimer for sys, whose supported CPUID
// the caller already has.
func deadlineTimer(sys *kvm.System, supported []kvm.CPUIDEntry, log *zap.Logger) bool {
	n, _ := sys.CheckExtension(kvm.CapTSCDeadline)
	usable := DeadlineTimerUsable(supported, n > 0)
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
func (k *KVM) Start(ctx context.Context, cfg Config) (Machine, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	log, t := cfg.Logger(), cfg.Topology
	kernel, err := os.ReadFile(cfg.Kernel)
	if err != nil {
		return nil, fmt.Errorf("vmm: reading kernel: %w", err)
	}
	bz, err := ParseBzImage(kernel)
	if err != nil {
		return nil, fmt.Errorf("vmm: %s: %w", cfg.Kernel, err)
	}
	var initrd []byte
	if cfg.Initramfs != "" {
		if initrd, err = os.ReadFile(cfg.Initramfs); err != nil {
			return nil, fmt.Errorf("vmm: reading initramfs: %w", err)
		}
	}
	nodes, err := splitMemory(cfg.GuestMemoryMB(), t.NUMANodes)
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
	m := &kvmMachine{
		log:     log,
		topo:    t,
		tail:    NewConsoleTail(kvmTailLines),
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
	if err := m.load(bz, initrd, KernelCmdline(cfg.Cmdline), nodes); err != nil {
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
		id := int(APICID(t, c))
		v, err := m.vm.CreateVCPU(id)
		if err != nil {
			return nil, err
		}
		m.vcpus = append(m.vcpus, &vcpuThread{VCPU: v, peeks: make(chan chan<- peekReply, 1)})
		if err := v.SetCPUID(GuestFeatures(TopologyCPUID(supported, t, c), tscDeadline)); err != nil {
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
	go Watch(ctx, cfg.Timeout, m.done, m.stop)
	go func() {
		wg.Wait()
		m.finish()
	}()
	log.Debug("kvm vm started", zap.Stringer("topology", t), zap.Uint64("mem_mb", size>>20))
	return m, nil
}

// load writes the kernel, initramfs, command line, ACPI tables, boot
// tables and zero page into guest memory.
func (m *kvmMachine) load(bz *BzImage, initrd []byte, cmdline string, nodes []NodeMemory) error {
	mem := m.mem
	top := uint64(len(mem))
	kernelEnd := uint64(bootKernelAddr + len(bz.Kernel))
	// The decompressor runs in place from max(load, pref_address) and
	// needs init_size bytes there.
	if e := max(uint64(bootKernelAddr), bz.PrefAddress) + uint64(bz.InitSize); e > kernelEnd {
		kernelEnd = e
	}
	if kernelEnd > top {
		return fmt.Errorf("vmm: the kernel needs memory up to %#x but the VM has %d MiB: give it more memory", kernelEnd, top>>20)
	}
	copy(mem[bootKernelAddr:], bz.Kernel)
	var initrdAddr uint64
	if len(initrd) > 0 {
		limit := min(top, uint64(bz.InitrdAddrMax)+1)
		initrdAddr = (limit - uint64(len(initrd))) &^ 0xfff
		if uint64(len(initrd)) > limit || initrdAddr < kernelEnd {
			return fmt.Errorf("vmm: the %d MiB initramfs does not fit above the kernel in %d MiB of RAM: give the VM more memory", len(initrd)>>20, top>>20)
		}
		copy(mem[initrdAddr:], initrd)
	}
	copy(mem[bootCmdlineAddr:], cmdline)
	mem[bootCmdlineAddr+len(cmdline)] = 0

	tables, err := BuildACPI(m.topo, bootBIOSStart, nodes)
	if err != nil {
		return err
	}
	if len(tables.Blob) > bootKernelAddr-bootBIOSStart {
		return fmt.Errorf("vmm: ACPI tables (%d bytes) overflow the BIOS area", len(tables.Blob))
	}
	copy(mem[bootBIOSStart:], tables.Blob)
	writeBootTables(mem)
	zp, err := bz.Build(BootParams{
		CmdlineAddr: bootCmdlineAddr,
		CmdlineLen:  len(cmdline),
		InitrdAddr:  initrdAddr,
		InitrdSize:  uint64(len(initrd)),
		E820: []E820Entry{
			{Addr: 0, Size: bootEBDAStart, Type: E820RAM},
			{Addr: bootEBDAStart, Size: 0xa0000 - bootEBDAStart, Type: E820Reserved},
			{Addr: bootBIOSStart, Size: bootKernelAddr - bootBIOSStart, Type: E820Reserved},
			{Addr: bootKernelAddr, Size: top - bootKernelAddr, Type: E820RAM},
		},
		ACPIRSDPAddr: tables.Base,
	})
	if err != nil {
		return err
	}
	copy(mem[bootParamsAddr:], zp)
	return nil
}
