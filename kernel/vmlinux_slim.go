package kernel

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// SlimVmlinux writes to out a copy of vmlinux that holds only what the
// harness reads from it: the symbol table (the monitor's addresses) and
// .BTF (vmlinux.h, struct layouts), plus notes (the build ID). Code, data
// and DWARF become section headers without contents (SHT_NOBITS), so
// every section keeps its index, address and size, symbols still name
// their sections, and BTF's data sections keep their sizes; the program
// headers go (nothing loads this file: guests boot the bzImage).
//
// A 6.12 tinyconfig-based vmlinux drops from 24 MB (DWARF already
// stripped) to about 5 MB: less to store, push and pull with each cached
// kernel, and less to carry into a nested host's initramfs.
func SlimVmlinux(vmlinux, out string) error {
	in, err := os.Open(vmlinux)
	if err != nil {
		return fmt.Errorf("slimming vmlinux: %w", err)
	}
	defer in.Close()
	var b bytes.Buffer
	if err := slimELF(in, &b); err != nil {
		return fmt.Errorf("slimming %s: %w", vmlinux, err)
	}
	if err := writeFileAtomic(out, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("slimming vmlinux: %w", err)
	}
	return nil
}

// keepsContents says which sections SlimVmlinux copies.
func keepsContents(typ elf.SectionType, name string) bool {
	switch typ {
	case elf.SHT_SYMTAB, elf.SHT_STRTAB, elf.SHT_NOTE:
		return true
	}
	return name == ".BTF"
}

// slimELF reads a 64-bit little-endian ELF and writes the slim copy:
// header, kept contents, then the section header table.
func slimELF(r io.ReaderAt, w io.Writer) error {
	f, err := elf.NewFile(r)
	if err != nil {
		return fmt.Errorf("not an ELF file (%w): pass the vmlinux from the kernel build tree", err)
	}
	if f.Class != elf.ELFCLASS64 || f.Data != elf.ELFDATA2LSB {
		return fmt.Errorf("a %s %s ELF; only 64-bit little-endian kernels are supported", f.Class, f.Data)
	}
	if f.Section(".BTF") == nil {
		return errors.New("no .BTF section: build the kernel with CONFIG_DEBUG_INFO_BTF=y")
	}
	if f.Section(".symtab") == nil {
		return errors.New("no symbol table: pass an unstripped vmlinux")
	}
	// debug/elf hides the raw headers (sh_name offsets, e_shoff): read
	// them again, in the layout it has already validated.
	var hdr elf.Header64
	if err := binary.Read(io.NewSectionReader(r, 0, int64(binary.Size(hdr))), binary.LittleEndian, &hdr); err != nil {
		return fmt.Errorf("reading the ELF header: %w", err)
	}
	shdrs := make([]elf.Section64, len(f.Sections))
	if err := binary.Read(io.NewSectionReader(r, int64(hdr.Shoff), int64(len(shdrs)*binary.Size(elf.Section64{}))), binary.LittleEndian, shdrs); err != nil {
		return fmt.Errorf("reading the section headers: %w", err)
	}

	off := uint64(binary.Size(hdr))
	var kept []int
	from := make([]uint64, len(shdrs)) // the input's offset of each kept section
	for i, s := range f.Sections {
		sh := &shdrs[i]
		if sh.Type == uint32(elf.SHT_NULL) || sh.Type == uint32(elf.SHT_NOBITS) {
			continue
		}
		if !keepsContents(s.Type, s.Name) {
			sh.Type, sh.Off = uint32(elf.SHT_NOBITS), 0
			continue
		}
		off = alignUp(off, max(sh.Addralign, 1))
		from[i], sh.Off = sh.Off, off
		off += sh.Size
		kept = append(kept, i)
	}
	shoff := alignUp(off, 8)

	out := hdr
	out.Phoff, out.Phnum, out.Phentsize = 0, 0, 0
	out.Shoff = shoff
	if err := binary.Write(w, binary.LittleEndian, out); err != nil {
		return err
	}
	pos := uint64(binary.Size(hdr))
	for _, i := range kept {
		sh := shdrs[i]
		if _, err := w.Write(make([]byte, sh.Off-pos)); err != nil {
			return err
		}
		// Raw bytes, as they were: Section.Open would decompress.
		// CopyN: a truncated file is an error, not a short section.
		if _, err := io.CopyN(w, io.NewSectionReader(r, int64(from[i]), int64(sh.Size)), int64(sh.Size)); err != nil {
			return fmt.Errorf("copying %s: %w", f.Sections[i].Name, err)
		}
		pos = sh.Off + sh.Size
	}
	if _, err := w.Write(make([]byte, shoff-pos)); err != nil {
		return err
	}
	return binary.Write(w, binary.LittleEndian, shdrs)
}

func alignUp(n, a uint64) uint64 { return (n + a - 1) / a * a }
