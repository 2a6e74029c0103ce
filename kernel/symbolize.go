package kernel

import (
	"debug/elf"
	"fmt"
	"slices"
	"sort"
	"strings"
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
	s.sort()
	return s, nil
}

// sort orders the symbols by address; among symbols at one address, a
// sized function wins over a label.
func (s *Symbolizer) sort() {
	sort.SliceStable(s.syms, func(i, j int) bool {
		if s.syms[i].addr != s.syms[j].addr {
			return s.syms[i].addr < s.syms[j].addr
		}
		return s.syms[i].size > s.syms[j].size
	})
}

// CodeSymbol is a function the vmlinux does not know: code the kernel
// loaded at run time, such as JIT-compiled BPF.
type CodeSymbol struct {
	Addr, Size uint64
	Name       string
}

// With returns a Symbolizer that also names the given functions; those
// without a size are left out.
func (s *Symbolizer) With(extra []CodeSymbol) *Symbolizer {
	n := &Symbolizer{syms: slices.Clone(s.syms), code: slices.Clone(s.code)}
	for _, e := range extra {
		if e.Size == 0 || e.Name == "" {
			continue
		}
		n.syms = append(n.syms, textSymbol{e.Addr, e.Size, e.Name})
		n.code = append(n.code, [2]uint64{e.Addr, e.Addr + e.Size})
	}
	n.sort()
	return n
}

// Name returns "function+0xoffset" for a code address, or the address in
// hex when no symbol covers it (user space, a module, data).
func (s *Symbolizer) Name(addr uint64) string {
	if name, ok := s.Lookup(addr); ok {
		return name
	}
	return fmt.Sprintf("%#x", addr)
}

// Lookup returns "function+0xoffset" and true for an address inside the
// kernel's code.
func (s *Symbolizer) Lookup(addr uint64) (string, bool) {
	sym, ok := s.lookup(addr)
	if !ok {
		return "", false
	}
	return fmt.Sprintf("%s+%#x", sym.name, addr-sym.addr), true
}

func (s *Symbolizer) lookup(addr uint64) (textSymbol, bool) {
	inCode := false
	for _, r := range s.code {
		inCode = inCode || (addr >= r[0] && addr < r[1])
	}
	if !inCode {
		return textSymbol{}, false
	}
	i := sort.Search(len(s.syms), func(i int) bool { return s.syms[i].addr > addr }) - 1
	// Step back over labels that start at the same address as a function.
	for i > 0 && s.syms[i-1].addr == s.syms[i].addr {
		i--
	}
	if i < 0 {
		return textSymbol{}, false
	}
	sym := s.syms[i]
	if sym.size != 0 && addr-sym.addr >= sym.size {
		return textSymbol{}, false
	}
	return sym, true
}

// Backtrace names the return addresses among stack words, innermost
// first, at most n of them. A function's own address (offset 0) is a
// function pointer, never a return address, and is skipped. Without
// frame unwinding some names may be stale, from calls already returned
// from: read it as a lead, not a proof.
func (s *Symbolizer) Backtrace(stack []uint64, n int) []string {
	var out []string
	for _, w := range stack {
		if len(out) == n {
			break
		}
		if sym, ok := s.lookup(w); ok && w != sym.addr {
			out = append(out, fmt.Sprintf("%s+%#x", sym.name, w-sym.addr))
		}
	}
	return out
}

// Where describes a stopped CPU: the function at rip, then the return
// addresses found on its stack (at most 8), as
// "pv_native_safe_halt+0x17 (on its stack: default_idle+0x9 ...)".
func (s *Symbolizer) Where(rip uint64, stack []uint64) string {
	w := s.Name(rip)
	if bt := s.Backtrace(stack, 8); len(bt) > 0 {
		w += " (on its stack: " + strings.Join(bt, " ") + ")"
	}
	return w
}
