package x86

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/kvm"
	"github.com/ktstr-go/ktstr/topology"
)

// fakeBzImage is the smallest image ParseBzImage accepts: a setup header
// for boot protocol 2.15 with a 64-bit entry, one setup sector, and
// kernel as the protected-mode part.
func fakeBzImage(t *testing.T, kernel []byte, initSize uint32) *BzImage {
	t.Helper()
	data := make([]byte, 2*512, 2*512+len(kernel))
	le := binary.LittleEndian
	data[shSetupSects] = 1
	le.PutUint16(data[shBootFlag:], bootFlagMagic)
	data[shJump+1] = byte(shInitSize + 4 - 0x202) // the header ends after init_size
	le.PutUint32(data[shHeader:], hdrMagic)
	le.PutUint16(data[shVersion:], 0x020f)
	data[shLoadflags] = loadedHigh
	le.PutUint16(data[shXloadflags:], xlfKernel64)
	le.PutUint32(data[shInitrdAddrMax:], 0x7fffffff)
	le.PutUint32(data[shCmdlineSize:], 2047)
	le.PutUint32(data[shInitSize:], initSize)
	b, err := ParseBzImage(append(data, kernel...))
	if err != nil {
		t.Fatalf("the fake bzImage does not parse: %v", err)
	}
	return b
}

func TestLoad(t *testing.T) {
	const memMB = 256
	tp := topology.Must("2n2l1c1t")
	nodes, err := SplitMemory(memMB, tp.NUMANodes)
	if err != nil {
		t.Fatal(err)
	}
	mem := make([]byte, memMB<<20)
	kernel := bytes.Repeat([]byte("KERNEL"), 1000)
	initrd := bytes.Repeat([]byte{0xc4}, 5000)
	const cmdline = "console=ttyS0 ktstr.mode=test"
	if err := Load(mem, tp, nodes, fakeBzImage(t, kernel, 1<<20), initrd, cmdline); err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	zp := mem[bootParamsAddr : bootParamsAddr+bpSize]

	if !bytes.Equal(mem[bootKernelAddr:bootKernelAddr+len(kernel)], kernel) {
		t.Error("the kernel is not at 1 MiB")
	}
	initrdAddr := uint64(le.Uint32(zp[shRamdiskImage:]))
	if initrdAddr%4096 != 0 || initrdAddr+uint64(len(initrd)) > uint64(len(mem)) || le.Uint32(zp[shRamdiskSize:]) != uint32(len(initrd)) {
		t.Errorf("zero page puts the initramfs at %#x+%#x, want a page at the top of %d MiB", initrdAddr, le.Uint32(zp[shRamdiskSize:]), memMB)
	} else if !bytes.Equal(mem[initrdAddr:initrdAddr+uint64(len(initrd))], initrd) {
		t.Errorf("the initramfs is not where the zero page says (%#x)", initrdAddr)
	}
	cmdAddr := le.Uint32(zp[shCmdLinePtr:])
	if got, _, _ := bytes.Cut(mem[cmdAddr:], []byte{0}); string(got) != cmdline {
		t.Errorf("command line at %#x reads %.60q, want %q", cmdAddr, got, cmdline)
	}
	rsdp := le.Uint64(zp[bpACPIRSDPAddr:])
	if got := string(mem[rsdp : rsdp+8]); got != "RSD PTR " {
		t.Errorf("zero page's RSDP address %#x holds %q", rsdp, got)
	}
	if n := zp[bpE820Entries]; n != 4 {
		t.Errorf("%d E820 entries, want 4", n)
	}
	last := bpE820Table + 3*e820EntrySize
	if end := le.Uint64(zp[last:]) + le.Uint64(zp[last+8:]); end != uint64(len(mem)) || le.Uint32(zp[last+16:]) != E820RAM {
		t.Errorf("the last E820 entry ends at %#x, want RAM up to %#x", end, len(mem))
	}

	// The boot vCPU's registers point into what Load wrote.
	s, r := LongModeSregs(kvm.Sregs{}), EntryRegs()
	if r.RIP != bootKernelAddr+bootEntryOffset || r.RSI != bootParamsAddr {
		t.Errorf("entry at %#x with boot_params %#x, want %#x and %#x", r.RIP, r.RSI, bootKernelAddr+bootEntryOffset, bootParamsAddr)
	}
	if code := le.Uint64(mem[s.GDT.Base+uint64(s.CS.Selector):]); code != 0x00af9b000000ffff {
		t.Errorf("GDT entry %#x for CS is %#x, want a 64-bit code segment", s.CS.Selector, code)
	}
	// The identity map: the entry point's address translates to itself.
	if pa, err := translate(bytes.NewReader(mem), s.CR3, false, r.RIP); err != nil || pa != r.RIP {
		t.Errorf("the boot page tables map %#x to %#x (%v), want identity", r.RIP, pa, err)
	}
}

func TestLoadRejects(t *testing.T) {
	tp := topology.Must("1n1l1c1t")
	nodes, err := SplitMemory(128, 1)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		initSize uint32
		initrd   int
		cmdline  int
		want     string
	}{
		{"kernel larger than RAM", 200 << 20, 0, 10, "give it more memory"},
		{"initramfs larger than RAM", 1 << 20, 130 << 20, 10, "does not fit above the kernel"},
		{"command line too long", 1 << 20, 0, 3000, "accepts at most 2047"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := make([]byte, 128<<20)
			err := Load(mem, tp, nodes, fakeBzImage(t, []byte("KERNEL"), tc.initSize), make([]byte, tc.initrd), strings.Repeat("x", tc.cmdline))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load err %v, want %q", err, tc.want)
			}
		})
	}
}
