package x86

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Linux x86 boot protocol (Documentation/arch/x86/boot.rst): offsets in
// struct boot_params ("zero page"), which embeds struct setup_header at
// 0x1f1. The struct is packed, so fields are read and written by offset;
// boot_params_test.go checks every offset against the kernel's BTF.
const (
	bpSize          = 4096
	bpACPIRSDPAddr  = 0x070 // u64 acpi_rsdp_addr
	bpExtRamdiskImg = 0x0c0 // u32 ext_ramdisk_image
	bpExtRamdiskSz  = 0x0c4 // u32 ext_ramdisk_size
	bpExtCmdLinePtr = 0x0c8 // u32 ext_cmd_line_ptr
	bpE820Entries   = 0x1e8 // u8 e820_entries
	bpHdr           = 0x1f1 // struct setup_header hdr
	bpE820Table     = 0x2d0 // struct boot_e820_entry e820_table[128]
	bpE820Max       = 128
	e820EntrySize   = 20 // packed: u64 addr, u64 size, u32 type

	shSetupSects     = 0x1f1      // u8
	shBootFlag       = 0x1fe      // u16, 0xAA55
	shJump           = 0x200      // u16; its high byte + 0x202 is the header's end
	shHeader         = 0x202      // u32 "HdrS"
	shVersion        = 0x206      // u16
	shTypeOfLoader   = 0x210      // u8
	shLoadflags      = 0x211      // u8
	shCode32Start    = 0x214      // u32
	shRamdiskImage   = 0x218      // u32
	shRamdiskSize    = 0x21c      // u32
	shHeapEndPtr     = 0x224      // u16
	shCmdLinePtr     = 0x228      // u32
	shInitrdAddrMax  = 0x22c      // u32
	shKernelAlign    = 0x230      // u32
	shRelocatable    = 0x234      // u8
	shXloadflags     = 0x236      // u16
	shCmdlineSize    = 0x238      // u32
	shPrefAddress    = 0x258      // u64
	shInitSize       = 0x260      // u32
	hdrMagic         = 0x53726448 // "HdrS"
	bootFlagMagic    = 0xaa55
	loadedHigh       = 1 << 0 // loadflags: protected-mode code at 1 MiB
	canUseHeap       = 1 << 7
	xlfKernel64      = 1 << 0 // xloadflags: has the 64-bit entry at +0x200
	minBootProtocol  = 0x020c // 2.12: xloadflags, so 64-bit entry is declared
	typeOfLoaderUndf = 0xff
)

// E820 memory types.
const (
	E820RAM      = 1
	E820Reserved = 2
)

// E820Entry is one range of the BIOS memory map handed to the kernel.
type E820Entry struct {
	Addr, Size uint64
	Type       uint32
}

// BzImage is a parsed Linux x86 bzImage.
type BzImage struct {
	// Setup is the real-mode part (boot sector + setup sectors); its
	// setup header is copied into boot_params.
	Setup []byte
	// Kernel is the protected-mode part, loaded at 1 MiB; the 64-bit
	// entry point is 0x200 bytes into it.
	Kernel []byte
	// Protocol is the boot protocol version, e.g. 0x020f for 2.15.
	Protocol uint16
	// InitSize is the memory the kernel needs from its load address
	// while it decompresses itself.
	InitSize uint32
	// PrefAddress is where the kernel prefers to run (CONFIG_PHYSICAL_START).
	PrefAddress uint64
	// InitrdAddrMax is the highest address the initramfs may end at.
	InitrdAddrMax uint32
	// CmdlineSize is the longest command line the kernel accepts.
	CmdlineSize uint32
}

// ParseBzImage validates a bzImage's setup header. Its errors name the
// likely mistake (an ELF vmlinux, a compressed file, a too-old kernel).
func ParseBzImage(data []byte) (*BzImage, error) {
	if bytes.HasPrefix(data, []byte("\x7fELF")) {
		return nil, errors.New("kernel is an ELF file (vmlinux?): pass the bzImage (arch/x86/boot/bzImage) instead")
	}
	if len(data) < 0x400 {
		return nil, fmt.Errorf("kernel is %d bytes, too short for a bzImage: pass arch/x86/boot/bzImage", len(data))
	}
	le := binary.LittleEndian
	if le.Uint32(data[shHeader:]) != hdrMagic || le.Uint16(data[shBootFlag:]) != bootFlagMagic {
		return nil, errors.New("kernel has no Linux x86 setup header (\"HdrS\" magic): not a bzImage; pass arch/x86/boot/bzImage")
	}
	b := &BzImage{Protocol: le.Uint16(data[shVersion:])}
	if b.Protocol < minBootProtocol {
		return nil, fmt.Errorf("kernel speaks boot protocol %d.%02d; the 64-bit entry needs 2.12 or later (Linux 3.8+): use a newer kernel",
			b.Protocol>>8, b.Protocol&0xff)
	}
	if data[shLoadflags]&loadedHigh == 0 {
		return nil, errors.New("kernel is a zImage (loads low): rebuild it as a bzImage")
	}
	if le.Uint16(data[shXloadflags:])&xlfKernel64 == 0 {
		return nil, errors.New("kernel has no 64-bit entry point (xloadflags lacks XLF_KERNEL_64): build an x86_64 kernel (CONFIG_64BIT=y)")
	}
	sects := int(data[shSetupSects])
	if sects == 0 {
		sects = 4 // the boot protocol's historical default
	}
	setupLen := (sects + 1) * 512
	if setupLen >= len(data) {
		return nil, fmt.Errorf("kernel claims %d setup sectors but is only %d bytes: truncated bzImage", sects, len(data))
	}
	b.Setup = data[:setupLen]
	b.Kernel = data[setupLen:]
	b.InitSize = le.Uint32(data[shInitSize:])
	b.PrefAddress = le.Uint64(data[shPrefAddress:])
	b.InitrdAddrMax = le.Uint32(data[shInitrdAddrMax:])
	b.CmdlineSize = le.Uint32(data[shCmdlineSize:])
	return b, nil
}

// headerEnd is the end of the setup header as the image declares it (the
// jump at 0x200 skips over it).
func (b *BzImage) headerEnd() int {
	end := 0x202 + int(b.Setup[shJump+1])
	if end > len(b.Setup) {
		end = len(b.Setup)
	}
	return end
}

// BootParams is what the loader tells the kernel: where the command line
// and initramfs are, the memory map and the ACPI RSDP.
type BootParams struct {
	CmdlineAddr  uint32
	CmdlineLen   int // without the NUL
	InitrdAddr   uint64
	InitrdSize   uint64
	E820         []E820Entry
	ACPIRSDPAddr uint64
}

// Build returns the 4 KiB zero page: the image's setup header with the
// loader's fields filled in, and the E820 map.
func (b *BzImage) Build(p BootParams) ([]byte, error) {
	if len(p.E820) > bpE820Max {
		return nil, fmt.Errorf("boot params: %d E820 entries exceed the zero page's %d", len(p.E820), bpE820Max)
	}
	if b.CmdlineSize != 0 && uint32(p.CmdlineLen) > b.CmdlineSize {
		return nil, fmt.Errorf("kernel command line is %d bytes; this kernel accepts at most %d", p.CmdlineLen, b.CmdlineSize)
	}
	if p.InitrdSize > 0 && p.InitrdAddr+p.InitrdSize-1 > uint64(b.InitrdAddrMax) {
		return nil, fmt.Errorf("initramfs at %#x+%#x ends above the kernel's initrd_addr_max %#x: give the VM less memory or use a smaller initramfs",
			p.InitrdAddr, p.InitrdSize, b.InitrdAddrMax)
	}
	zp := make([]byte, bpSize)
	copy(zp[bpHdr:], b.Setup[bpHdr:b.headerEnd()])
	le := binary.LittleEndian
	zp[shTypeOfLoader] = typeOfLoaderUndf
	zp[shLoadflags] |= canUseHeap
	le.PutUint16(zp[shHeapEndPtr:], 0xfe00)
	le.PutUint32(zp[shCmdLinePtr:], p.CmdlineAddr)
	le.PutUint32(zp[shRamdiskImage:], uint32(p.InitrdAddr))
	le.PutUint32(zp[shRamdiskSize:], uint32(p.InitrdSize))
	le.PutUint32(zp[bpExtRamdiskImg:], uint32(p.InitrdAddr>>32))
	le.PutUint32(zp[bpExtRamdiskSz:], uint32(p.InitrdSize>>32))
	le.PutUint64(zp[bpACPIRSDPAddr:], p.ACPIRSDPAddr)
	zp[bpE820Entries] = uint8(len(p.E820))
	for i, e := range p.E820 {
		o := bpE820Table + i*e820EntrySize
		le.PutUint64(zp[o:], e.Addr)
		le.PutUint64(zp[o+8:], e.Size)
		le.PutUint32(zp[o+16:], e.Type)
	}
	return zp, nil
}
