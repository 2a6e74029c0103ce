package guest

import (
	"encoding/binary"
	"fmt"
	"os"
)

// PhysAddr translates a virtual address of this process into the
// guest-physical address behind it, through /proc/self/pagemap (only root
// sees page frame numbers). The page must be resident: touch it first.
// The host reads the same bytes with vmm.Machine.Memory.
func PhysAddr(va uintptr) (uint64, error) {
	f, err := os.Open("/proc/self/pagemap")
	if err != nil {
		return 0, fmt.Errorf("reading the page map: %w", err)
	}
	defer f.Close()
	const page = 4096
	var ent [8]byte
	if _, err := f.ReadAt(ent[:], int64(va/page)*8); err != nil {
		return 0, fmt.Errorf("reading the page map entry of %#x: %w", va, err)
	}
	e := binary.LittleEndian.Uint64(ent[:])
	if e&(1<<63) == 0 {
		return 0, fmt.Errorf("page of %#x is not present: touch it before asking", va)
	}
	pfn := e & (1<<55 - 1)
	if pfn == 0 {
		return 0, fmt.Errorf("page map hides frame numbers: run as root")
	}
	return pfn*page + uint64(va%page), nil
}
