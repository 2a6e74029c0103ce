package monitor

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// errTooManyEntries ends an IDR walk at its bound.
var errTooManyEntries = errors.New("more entries than the bound")

// idrEntries calls fn with every object pointer stored in the struct idr
// at kernel address idr (map_idr, prog_idr), in index order, at most
// limit of them.
//
// An IDR is an XArray (include/linux/xarray.h). xa_head holds either the
// one entry at index 0 or a node; a node's slots hold entries, or child
// nodes while its shift is not 0. Entries are tagged in their low two
// bits: 00 is a pointer (what the IDR stores), x1 a value, 10 internal (a
// node when above 4096, else a sibling, retry or zero marker).
func (m *kmem) idrEntries(idr uint64, l *bpfLayout, limit int, fn func(ptr uint64) error) error {
	head, err := m.u64(idr + uint64(l.idrHead.off))
	if err != nil {
		return fmt.Errorf("idr at %#x: %w", idr, err)
	}
	n := 0
	return m.xaEntry(head, l, 0, &n, limit, fn)
}

func (m *kmem) xaEntry(e uint64, l *bpfLayout, depth int, n *int, limit int, fn func(uint64) error) error {
	switch {
	case e == 0 || e&1 == 1:
		return nil
	case e&3 == 2 && e > 4096:
		return m.xaNode(e-2, l, depth, n, limit, fn)
	case e&3 == 2:
		return nil // sibling, retry or zero entry
	}
	if *n == limit {
		return fmt.Errorf("%w of %d", errTooManyEntries, limit)
	}
	*n++
	return fn(e)
}

// xaNode visits a node's slots. depth bounds the recursion: a 64-bit
// index needs at most 11 levels of 64 slots.
func (m *kmem) xaNode(node uint64, l *bpfLayout, depth int, n *int, limit int, fn func(uint64) error) error {
	if depth > 12 {
		return fmt.Errorf("xarray deeper than 12 levels at node %#x: the guest changed it under the read", node)
	}
	slots, err := m.bytes(node+uint64(l.xaSlots), 8*l.xaNSlots)
	if err != nil {
		return fmt.Errorf("xa_node at %#x: %w", node, err)
	}
	for i := range l.xaNSlots {
		if err := m.xaEntry(binary.LittleEndian.Uint64(slots[8*i:]), l, depth+1, n, limit, fn); err != nil {
			return err
		}
	}
	return nil
}
