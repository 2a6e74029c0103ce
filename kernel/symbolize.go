package kernel

import (
	"debug/elf"
	"fmt"
	"sort"
)

// Symbolizer names kernel code addresses ("pv_native_safe_halt+0x5") from
// a vmlinux's symbol table: enough to say where a hung guest's vCPUs sat
// without a debugger. A slim vmlinux (SlimVmlinux) is enough.
type Symbolizer struct {
	syms []textSymbol // sorted by addr
	code [][2]uint64  // [start, end) of each section that holds code
}

type textSymbol struct {
	addr, size uint64
	name       string
}

// NewSymbolizer reads vmlinux's code symbols.
func NewSymbolizer(vmlinux string) (*Symbolizer, error) {
	f, err := elf.Open(vmlinux)
	if err != nil {
		return nil, fmt.Errorf("symbolizer: %w", err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("symbolizer: %s: %w (pass a vmlinux with its symbol table)", vmlinux, err)
	}
	s := &Symbolizer{}
	for _, sec := range f.Sections {
		if sec.Flags&elf.SHF_EXECINSTR != 0 && sec.Flags&elf.SHF_ALLOC != 0 {
			s.code = append(s.code, [2]uint64{sec.Addr, sec.Addr + sec.Size})
		}
	}
	for _, sym := range syms {
		// Functions, and the untyped labels of assembly entry code, in
		// sections that hold code.
		typ := elf.ST_TYPE(sym.Info)
		if typ != elf.STT_FUNC && typ != elf.STT_NOTYPE {
			continue
		}
		if int(sym.Section) >= len(f.Sections) || sym.Section == elf.SHN_UNDEF {
			continue
		}
		if f.Sections[sym.Section].Flags&elf.SHF_EXECINSTR == 0 || sym.Name == "" {
			continue
		}
		s.syms = append(s.syms, textSymbol{sym.Value, sym.Size, sym.Name})
	}
	if len(s.syms) == 0 {
		return nil, fmt.Errorf("symbolizer: %s has no code symbols", vmlinux)
	}
	// Among symbols at one address, a sized function wins over a label.
	sort.SliceStable(s.syms, func(i, j int) bool {
		if s.syms[i].addr != s.syms[j].addr {
			return s.syms[i].addr < s.syms[j].addr
		}
		return s.syms[i].size > s.syms[j].size
	})
	return s, nil
}

// Name returns "function+0xoffset" for a code address, or the address in
// hex when no symbol covers it (user space, a module, data).
func (s *Symbolizer) Name(addr uint64) string {
	inCode := false
	for _, r := range s.code {
		inCode = inCode || (addr >= r[0] && addr < r[1])
	}
	if !inCode {
		return fmt.Sprintf("%#x", addr)
	}
	i := sort.Search(len(s.syms), func(i int) bool { return s.syms[i].addr > addr }) - 1
	// Step back over labels that start at the same address as a function.
	for i > 0 && s.syms[i-1].addr == s.syms[i].addr {
		i--
	}
	if i < 0 {
		return fmt.Sprintf("%#x", addr)
	}
	sym := s.syms[i]
	if sym.size != 0 && addr-sym.addr >= sym.size {
		return fmt.Sprintf("%#x", addr)
	}
	return fmt.Sprintf("%s+%#x", sym.name, addr-sym.addr)
}
