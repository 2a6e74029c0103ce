package x86

import (
	"encoding/binary"
	"os"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"

	"github.com/ktstr-go/ktstr/kernel/kerneltest"
)

func btfStruct(t *testing.T, spec *btf.Spec, name string) *btf.Struct {
	t.Helper()
	var s *btf.Struct
	if err := spec.TypeByName(name, &s); err != nil {
		t.Fatalf("BTF has no struct %s: %v", name, err)
	}
	return s
}

func checkMembers(t *testing.T, s *btf.Struct, base int, want map[string]int) {
	t.Helper()
	for _, m := range s.Members {
		off, ok := want[m.Name]
		if !ok {
			continue
		}
		if got := base + int(m.Offset.Bytes()); got != off {
			t.Errorf("%s.%s is at %#x in the kernel, our constant says %#x", s.Name, m.Name, got, off)
		}
		delete(want, m.Name)
	}
	for name := range want {
		t.Errorf("kernel's struct %s has no member %s", s.Name, name)
	}
}

func TestBootParamsLayoutMatchesKernelBTF(t *testing.T) {
	spec := kerneltest.BTF(t)
	bp := btfStruct(t, spec, "boot_params")
	if bp.Size != bpSize {
		t.Errorf("boot_params is %d bytes, want %d", bp.Size, bpSize)
	}
	checkMembers(t, bp, 0, map[string]int{
		"acpi_rsdp_addr": bpACPIRSDPAddr, "ext_ramdisk_image": bpExtRamdiskImg, "ext_ramdisk_size": bpExtRamdiskSz,
		"ext_cmd_line_ptr": bpExtCmdLinePtr, "e820_entries": bpE820Entries, "hdr": bpHdr, "e820_table": bpE820Table,
	})
	for _, m := range bp.Members {
		if m.Name == "e820_table" {
			arr, ok := m.Type.(*btf.Array)
			if !ok || arr.Nelems != bpE820Max {
				t.Errorf("e820_table is %v, want %d entries", m.Type, bpE820Max)
			}
		}
	}
	sh := btfStruct(t, spec, "setup_header")
	checkMembers(t, sh, bpHdr, map[string]int{
		"setup_sects": shSetupSects, "boot_flag": shBootFlag, "jump": shJump, "header": shHeader, "version": shVersion,
		"type_of_loader": shTypeOfLoader, "loadflags": shLoadflags, "code32_start": shCode32Start,
		"ramdisk_image": shRamdiskImage, "ramdisk_size": shRamdiskSize, "heap_end_ptr": shHeapEndPtr,
		"cmd_line_ptr": shCmdLinePtr, "initrd_addr_max": shInitrdAddrMax, "kernel_alignment": shKernelAlign,
		"relocatable_kernel": shRelocatable, "xloadflags": shXloadflags, "cmdline_size": shCmdlineSize,
		"pref_address": shPrefAddress, "init_size": shInitSize,
	})
	e := btfStruct(t, spec, "boot_e820_entry")
	if e.Size != e820EntrySize {
		t.Errorf("boot_e820_entry is %d bytes, want %d", e.Size, e820EntrySize)
	}
	checkMembers(t, e, 0, map[string]int{"addr": 0, "size": 8, "type": 16})
}

func readKernel(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(kerneltest.Image(t))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseBzImage(t *testing.T) {
	data := readKernel(t)
	b, err := ParseBzImage(data)
	if err != nil {
		t.Fatal(err)
	}
	if b.Protocol < 0x020f || b.InitSize == 0 || b.CmdlineSize < 256 || len(b.Setup)%512 != 0 {
		t.Errorf("implausible header: protocol %#x init_size %#x cmdline_size %d setup %d bytes", b.Protocol, b.InitSize, b.CmdlineSize, len(b.Setup))
	}
	zp, err := b.Build(BootParams{CmdlineAddr: 0x20000, CmdlineLen: 10, InitrdAddr: 0x3000_0000, InitrdSize: 0x1234,
		E820: []E820Entry{{0, 0x9fc00, E820RAM}, {0x100000, 0x3ff00000, E820RAM}}, ACPIRSDPAddr: 0xe0000})
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	for name, c := range map[string]struct{ got, want uint64 }{
		"header magic":  {uint64(le.Uint32(zp[shHeader:])), hdrMagic},
		"cmd_line_ptr":  {uint64(le.Uint32(zp[shCmdLinePtr:])), 0x20000},
		"ramdisk_image": {uint64(le.Uint32(zp[shRamdiskImage:])), 0x3000_0000},
		"ramdisk_size":  {uint64(le.Uint32(zp[shRamdiskSize:])), 0x1234},
		"e820_entries":  {uint64(zp[bpE820Entries]), 2},
		"e820[1].size":  {le.Uint64(zp[bpE820Table+e820EntrySize+8:]), 0x3ff00000},
		"e820[1].type":  {uint64(le.Uint32(zp[bpE820Table+e820EntrySize+16:])), E820RAM},
		"rsdp":          {le.Uint64(zp[bpACPIRSDPAddr:]), 0xe0000},
		"loader":        {uint64(zp[shTypeOfLoader]), typeOfLoaderUndf},
		"version":       {uint64(le.Uint16(zp[shVersion:])), uint64(b.Protocol)},
	} {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", name, c.got, c.want)
		}
	}
	if _, err := b.Build(BootParams{CmdlineLen: int(b.CmdlineSize) + 1}); err == nil || !strings.Contains(err.Error(), "command line") {
		t.Errorf("over-long command line: err = %v", err)
	}
}

func TestParseBzImageRejects(t *testing.T) {
	good := readKernel(t)
	mutate := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good[:0x4000]...)
		f(b)
		return b
	}
	cases := []struct {
		name, want string
		data       []byte
	}{
		{"vmlinux", "ELF", []byte("\x7fELF\x02\x01\x01rest-of-an-elf-file")},
		{"short", "too short", good[:100]},
		{"no magic", "not a bzImage", mutate(func(b []byte) { copy(b[shHeader:], "XXXX") })},
		{"old protocol", "2.12 or later", mutate(func(b []byte) { binary.LittleEndian.PutUint16(b[shVersion:], 0x0204) })},
		{"zImage", "zImage", mutate(func(b []byte) { b[shLoadflags] &^= loadedHigh })},
		{"32-bit", "64-bit entry", mutate(func(b []byte) { binary.LittleEndian.PutUint16(b[shXloadflags:], 0) })},
		{"truncated", "truncated", mutate(func(b []byte) { b[shSetupSects] = 200 })},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseBzImage(c.data)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("ParseBzImage = %v, want an error mentioning %q", err, c.want)
			}
		})
	}
}
