package x86

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/ktstr-go/ktstr/kvm"
)

// x86-64 paging bits the walk reads.
const (
	ptePresent  = 1 << 0
	ptePageSize = 1 << 7 // a 1 GiB (PDPT) or 2 MiB (PD) page
	pteAddrMask = 0x000f_ffff_ffff_f000
	cr0PG       = 1 << 31
	cr4LA57     = 1 << 12
	eferLMA     = 1 << 10
)

// ReadStack reads up to n words of a vCPU's stack from rsp upwards
// through its page tables (s: its special registers); nil unless the
// vCPU runs in long mode with paging on (a guest still booting).
func ReadStack(mem io.ReaderAt, s kvm.Sregs, rsp uint64, n int) []uint64 {
	if s.CR0&cr0PG == 0 || s.EFER&eferLMA == 0 {
		return nil
	}
	return readStack(mem, s.CR3, s.CR4&cr4LA57 != 0, rsp, n)
}

// WalkPageTables translates guest virtual address va to guest-physical
// by walking the guest's page tables in mem from the top-level table at
// guest-physical address root (five levels when la57). The host monitor
// takes it as its page walker (monitor.Config.PageWalk) to read the
// guest kernel's vmalloc'd memory, with root the kernel's own
// init_top_pgt, so no vCPU has to be stopped for its CR3.
func WalkPageTables(mem io.ReaderAt, root uint64, la57 bool, va uint64) (uint64, error) {
	return translate(mem, root, la57, va)
}

// translate walks the guest's page tables from cr3 and returns the
// guest-physical address of virtual address va: 4-level paging, or
// 5-level when la57 (CR4.LA57) is set.
func translate(mem io.ReaderAt, cr3 uint64, la57 bool, va uint64) (uint64, error) {
	shifts := []uint{39, 30, 21, 12}
	if la57 {
		shifts = append([]uint{48}, shifts...)
	}
	table := cr3 & pteAddrMask
	var e [8]byte
	for level, shift := range shifts {
		idx := (va >> shift) & 0x1ff
		if _, err := mem.ReadAt(e[:], int64(table+idx*8)); err != nil {
			return 0, fmt.Errorf("page walk of %#x: reading the entry at %#x: %w", va, table+idx*8, err)
		}
		pte := binary.LittleEndian.Uint64(e[:])
		if pte&ptePresent == 0 {
			return 0, fmt.Errorf("page walk of %#x: not mapped", va)
		}
		last := level == len(shifts)-1
		// Large pages: PS in a PDPT (shift 30) or PD (shift 21) entry.
		if last || (pte&ptePageSize != 0 && (shift == 30 || shift == 21)) {
			size := uint64(1) << shift
			return pte&pteAddrMask&^(size-1) | va&(size-1), nil
		}
		table = pte & pteAddrMask
	}
	panic("unreachable")
}

// readStack reads up to n 64-bit words of guest virtual memory from va,
// page by page; it stops at the first page it cannot translate.
func readStack(mem io.ReaderAt, cr3 uint64, la57 bool, va uint64, n int) []uint64 {
	var words []uint64
	var w [8]byte
	for len(words) < n {
		pa, err := translate(mem, cr3, la57, va)
		if err != nil {
			break
		}
		if _, err := mem.ReadAt(w[:], int64(pa)); err != nil {
			break
		}
		words = append(words, binary.LittleEndian.Uint64(w[:]))
		va += 8
	}
	return words
}
