package x86

import (
	"fmt"

	"github.com/ktstr-go/ktstr/topology"
)

// Load writes what the kernel finds in guest RAM at its 64-bit entry
// into mem, the RAM from guest-physical 0: the kernel at 1 MiB, the
// initramfs at the top, the command line, the ACPI tables for t and its
// nodes' memory, the boot GDT and page tables, and the zero page with the
// E820 map. The boot vCPU then starts with LongModeSregs and EntryRegs.
func Load(mem []byte, t topology.Topology, nodes []NodeMemory, bz *BzImage, initrd []byte, cmdline string) error {
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

	tables, err := BuildACPI(t, bootBIOSStart, nodes)
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
