package monitor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// PageWalker translates guest virtual address va to guest-physical by
// walking the guest's page tables from the top-level table at
// guest-physical address root (five levels when la57). It is the VMM's
// ability (vmm.WalkPageTables); the monitor needs it for kernel memory
// outside the image and the direct map: vmalloc'd BPF map values and BTF,
// per-CPU chunks beyond the first.
type PageWalker func(root uint64, la57 bool, va uint64) (uint64, error)

const pageSize = 4096

// errNoWalker is returned for a vmalloc address when no PageWalker was
// given.
var errNoWalker = errors.New("no page walker (Config.PageWalk) for an address outside the kernel image and the direct map")

// kmem reads guest kernel virtual memory: the kernel image through the
// fixed text mapping, the direct map by subtraction, and anything else
// (vmalloc space) page by page through the guest's own page tables.
type kmem struct {
	mem        io.ReaderAt
	pageOffset uint64 // the direct map's base
	vmalloc    uint64 // the end of the direct map (vmalloc_base); 0: unknown
	walk       PageWalker
	root       uint64 // guest-physical address of init_top_pgt
	la57       bool
	// tlb caches page walks (virtual page → physical page) for one
	// snapshot; mappings may change between snapshots (reset).
	tlb map[uint64]uint64
}

// reset forgets cached translations.
func (m *kmem) reset() { clear(m.tlb) }

// newKmem reads what the translation needs from the guest: the direct
// map's base and end and whether it runs five-level paging.
func (g *Guest) newKmem(walk PageWalker) (*kmem, error) {
	m := &kmem{mem: g.mem, pageOffset: defaultPageOffset, walk: walk}
	s := g.k.syms
	var err error
	if s.pageOffsetBase != 0 {
		if m.pageOffset, err = g.readU64(text(s.pageOffsetBase)); err != nil {
			return nil, err
		}
	}
	if s.vmallocBase != 0 {
		if m.vmalloc, err = g.readU64(text(s.vmallocBase)); err != nil {
			return nil, err
		}
	}
	if s.pgtableL5 != 0 {
		l5, err := g.readU32(text(s.pgtableL5))
		if err != nil {
			return nil, err
		}
		m.la57 = l5 != 0
	}
	m.root = text(s.initTopPgt)
	if s.initTopPgt == 0 {
		m.walk = nil
	}
	return m, nil
}

// direct reports whether kva is in the kernel image or the direct map,
// which translate without page tables, and where it is.
func (m *kmem) direct(kva uint64) (uint64, bool) {
	switch {
	case kva >= startKernelMap:
		return text(kva), true
	case kva >= m.pageOffset && (m.vmalloc == 0 || kva < m.vmalloc):
		return kva - m.pageOffset, true
	}
	return 0, false
}

// phys translates one address.
func (m *kmem) phys(kva uint64) (uint64, error) {
	if pa, ok := m.direct(kva); ok {
		return pa, nil
	}
	if m.walk == nil {
		return 0, fmt.Errorf("%#x: %w", kva, errNoWalker)
	}
	page := kva &^ (pageSize - 1)
	if pa, ok := m.tlb[page]; ok {
		return pa | kva%pageSize, nil
	}
	pa, err := m.walk(m.root, m.la57, page)
	if err != nil {
		return 0, err
	}
	if m.tlb == nil {
		m.tlb = map[uint64]uint64{}
	}
	m.tlb[page] = pa
	return pa | kva%pageSize, nil
}

// read fills b from kernel virtual address kva. Outside the image and the
// direct map consecutive pages need not be consecutive in guest-physical
// memory, so each page is translated on its own.
func (m *kmem) read(kva uint64, b []byte) error {
	if kva == 0 {
		return errors.New("NULL pointer")
	}
	if pa, ok := m.direct(kva); ok {
		if _, err := m.mem.ReadAt(b, int64(pa)); err != nil {
			return fmt.Errorf("reading %d bytes at %#x (guest-physical %#x): %w", len(b), kva, pa, err)
		}
		return nil
	}
	for len(b) > 0 {
		pa, err := m.phys(kva)
		if err != nil {
			return err
		}
		n := min(uint64(len(b)), pageSize-kva%pageSize)
		if _, err := m.mem.ReadAt(b[:n], int64(pa)); err != nil {
			return fmt.Errorf("reading %d bytes at %#x (guest-physical %#x): %w", n, kva, pa, err)
		}
		b, kva = b[n:], kva+n
	}
	return nil
}

// bytes reads n bytes at kva.
func (m *kmem) bytes(kva uint64, n uint32) ([]byte, error) {
	b := make([]byte, n)
	return b, m.read(kva, b)
}

func (m *kmem) u64(kva uint64) (uint64, error) {
	var b [8]byte
	if err := m.read(kva, b[:]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

func (m *kmem) u32(kva uint64) (uint32, error) {
	var b [4]byte
	if err := m.read(kva, b[:]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}

// cstring reads a NUL-terminated string of at most n bytes at kva.
func (m *kmem) cstring(kva uint64, n uint32) (string, error) {
	b, err := m.bytes(kva, n)
	if err != nil {
		return "", err
	}
	return cstr(b), nil
}

// cstr is the text of a fixed C char array, up to its NUL.
func cstr(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// le reads an unsigned little-endian field out of a struct's bytes; a
// field the kernel lacks (size 0) or that lies outside b reads as 0.
func le(b []byte, f field) uint64 {
	if f.size == 0 || int(f.off+f.size) > len(b) {
		return 0
	}
	return littleEndian(b[f.off : f.off+f.size])
}
