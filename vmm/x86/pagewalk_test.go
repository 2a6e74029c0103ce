package x86

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/kvm"
)

// guestTables builds page tables in a small guest memory. Each map maps
// the table's physical address to its entries (index → raw entry).
func guestTables(size int, tables map[uint64]map[uint64]uint64) []byte {
	mem := make([]byte, size)
	for base, ents := range tables {
		for idx, e := range ents {
			binary.LittleEndian.PutUint64(mem[base+idx*8:], e)
		}
	}
	return mem
}

func TestTranslate(t *testing.T) {
	const (
		p = ptePresent
		// A kernel-text-like address: PML4 511, PDPT 510, PD 8, PT 0x45.
		va = 0xffffffff81045123
	)
	pml4, pdpt, pd, pt := uint64(0x1000), uint64(0x2000), uint64(0x3000), uint64(0x4000)
	idx := func(shift uint) uint64 { return (va >> shift) & 0x1ff }
	four := guestTables(0x10000, map[uint64]map[uint64]uint64{
		pml4: {idx(39): pdpt | p},
		pdpt: {idx(30): pd | p},
		pd:   {idx(21): pt | p},
		pt:   {idx(12): 0x8000 | p},
	})
	huge2M := guestTables(0x10000, map[uint64]map[uint64]uint64{
		pml4: {idx(39): pdpt | p},
		pdpt: {idx(30): pd | p},
		pd:   {idx(21): 0x20_0000 | ptePageSize | p},
	})
	huge1G := guestTables(0x10000, map[uint64]map[uint64]uint64{
		pml4: {idx(39): pdpt | p},
		pdpt: {idx(30): 0x4000_0000 | ptePageSize | p},
	})
	pml5 := uint64(0x5000)
	five := guestTables(0x10000, map[uint64]map[uint64]uint64{
		pml5: {(va >> 48) & 0x1ff: pml4 | p},
		pml4: {idx(39): pdpt | p},
		pdpt: {idx(30): pd | p},
		pd:   {idx(21): pt | p},
		pt:   {idx(12): 0x9000 | p},
	})
	unmapped := guestTables(0x10000, map[uint64]map[uint64]uint64{pml4: {idx(39): pdpt | p}})
	for _, tt := range []struct {
		name    string
		mem     []byte
		cr3     uint64
		la57    bool
		want    uint64
		wantErr string
	}{
		{"4 KiB page", four, pml4, false, 0x8123, ""},
		{"2 MiB page", huge2M, pml4, false, 0x20_0000 | va&0x1f_ffff, ""},
		{"1 GiB page", huge1G, pml4, false, 0x4000_0000 | va&0x3fff_ffff, ""},
		{"5-level", five, pml5, true, 0x9123, ""},
		{"not mapped", unmapped, pml4, false, 0, "not mapped"},
		{"table outside memory", four, 0x100000, false, 0, "reading the entry"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := translate(bytes.NewReader(tt.mem), tt.cr3, tt.la57, va)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("translate = %#x, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("translate = %#x, %v; want %#x", got, err, tt.want)
			}
		})
	}
}

func TestReadStack(t *testing.T) {
	// Two virtual pages mapped to physical pages in reverse order: the
	// read must translate each page, not run on linearly.
	const va = 0x7000_0000_0ff0 // 2 words before a page boundary
	idx := func(v uint64, shift uint) uint64 { return (v >> shift) & 0x1ff }
	pml4, pdpt, pd, pt := uint64(0x1000), uint64(0x2000), uint64(0x3000), uint64(0x4000)
	mem := guestTables(0x10000, map[uint64]map[uint64]uint64{
		pml4: {idx(va, 39): pdpt | ptePresent},
		pdpt: {idx(va, 30): pd | ptePresent},
		pd:   {idx(va, 21): pt | ptePresent},
		// The second page is left unmapped after it: the read stops there.
		pt: {idx(va, 12): 0x9000 | ptePresent, idx(va+0x1000, 12): 0x8000 | ptePresent},
	})
	for i, w := range []uint64{0xa, 0xb} {
		binary.LittleEndian.PutUint64(mem[0x9ff0+i*8:], w)
	}
	for i, w := range []uint64{0xc, 0xd} {
		binary.LittleEndian.PutUint64(mem[0x8000+i*8:], w)
	}
	got := readStack(bytes.NewReader(mem), pml4, false, va, 4)
	if want := []uint64{0xa, 0xb, 0xc, 0xd}; !slices.Equal(got, want) {
		t.Errorf("readStack = %#x, want %#x", got, want)
	}
	// At the unmapped page after them it stops short instead of failing:
	// the last 2 words of the second page, then nothing.
	if got := readStack(bytes.NewReader(mem), pml4, false, va+0x1000, 600); len(got) != 2 {
		t.Errorf("readStack up to an unmapped page read %d words, want 2", len(got))
	}
	// ReadStack walks only a vCPU in long mode with paging on.
	for _, tc := range []struct {
		name string
		s    kvm.Sregs
		want []uint64
	}{
		{"long mode", kvm.Sregs{CR0: cr0PG, EFER: eferLMA, CR3: pml4}, []uint64{0xa, 0xb, 0xc, 0xd}},
		{"paging off", kvm.Sregs{EFER: eferLMA, CR3: pml4}, nil},
		{"not long mode", kvm.Sregs{CR0: cr0PG, CR3: pml4}, nil},
	} {
		if got := ReadStack(bytes.NewReader(mem), tc.s, va, 4); !slices.Equal(got, tc.want) {
			t.Errorf("ReadStack in %s = %#x, want %#x", tc.name, got, tc.want)
		}
	}
}
