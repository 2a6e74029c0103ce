package x86

import "fmt"

// NodeMemory is one NUMA node's guest-physical memory range.
type NodeMemory struct {
	Node       int
	Base, Size uint64
}

const (
	// minNodeMB is the least RAM each NUMA node gets.
	minNodeMB = 128
	// maxLowMemMB keeps guest RAM below the PCI hole so guest-physical
	// addresses map 1:1 onto the backing memory.
	maxLowMemMB = 2816
)

// SplitMemory lays memoryMB of guest RAM out from guest-physical 0 over
// nodes NUMA nodes. The shares add up to exactly memoryMB and differ by
// at most 2 MiB: each is whole 2 MiB steps, so node boundaries stay
// huge-page aligned, and an odd last MiB goes to the last node, after
// which no boundary follows.
func SplitMemory(memoryMB, nodes int) ([]NodeMemory, error) {
	if nodes < 1 {
		return nil, fmt.Errorf("vmm: cannot split guest RAM over %d NUMA nodes", nodes)
	}
	steps := memoryMB / 2
	if least := steps / nodes * 2; least < minNodeMB {
		return nil, fmt.Errorf("vmm: %d MiB over %d NUMA nodes leaves %d MiB per node; give at least %d MiB", memoryMB, nodes, least, minNodeMB*nodes)
	}
	if memoryMB > maxLowMemMB {
		return nil, fmt.Errorf("vmm: %d MiB of guest RAM exceeds the %d MiB kept below the PCI hole; use less memory", memoryMB, maxLowMemMB)
	}
	mem := make([]NodeMemory, nodes)
	var base uint64
	for n := range mem {
		mb := steps / nodes * 2
		if n < steps%nodes {
			mb += 2
		}
		if n == nodes-1 {
			mb += memoryMB % 2
		}
		mem[n] = NodeMemory{Node: n, Base: base, Size: uint64(mb) << 20}
		base += mem[n].Size
	}
	return mem, nil
}
