package monitor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// x86-64 virtual memory layout constants.
const (
	// startKernelMap is __START_KERNEL_map: the kernel image's virtual
	// base, mapped onto physical 0 (phys_base is 0 without KASLR, and
	// the guest boots with nokaslr).
	startKernelMap = 0xffffffff80000000
	// defaultPageOffset is the 4-level direct map's base, for kernels
	// built without a page_offset_base variable.
	defaultPageOffset = 0xffff888000000000
)

// ErrNotReady means the guest kernel has not yet set up what the monitor
// reads (per-CPU areas, nr_cpu_ids): retry later.
var ErrNotReady = errors.New("guest kernel not ready for monitoring")

// Guest reads one running guest's runqueues.
type Guest struct {
	k   *Kernel
	mem io.ReaderAt
	// rq is the guest-physical address of each CPU's struct rq.
	rq  []uint64
	buf []byte
	// is holds what snapshots keep between reads (Snapshot).
	is *introState
}

// Attach finds the runqueues of a guest booted from k with ncpu CPUs in
// its guest-physical memory. Until the guest kernel has set up its
// per-CPU areas the error wraps ErrNotReady; every CPU's rq must carry
// its own CPU number, which also proves the address translation right.
func (k *Kernel) Attach(mem io.ReaderAt, ncpu int) (*Guest, error) {
	g := &Guest{k: k, mem: mem, buf: make([]byte, k.rq.span)}
	n, err := g.readU32(text(k.syms.nrCPUIDs))
	if err != nil {
		return nil, err
	}
	if int(n) != ncpu {
		return nil, fmt.Errorf("%w: nr_cpu_ids is %d, want %d", ErrNotReady, n, ncpu)
	}
	pageOffset := uint64(defaultPageOffset)
	if k.syms.pageOffsetBase != 0 {
		if pageOffset, err = g.readU64(text(k.syms.pageOffsetBase)); err != nil {
			return nil, err
		}
	}
	for cpu := range ncpu {
		off, err := g.readU64(text(k.syms.perCPUOffset + 8*uint64(cpu)))
		if err != nil {
			return nil, err
		}
		// Until setup_per_cpu_areas, every CPU's offset points at the
		// per-CPU template inside the kernel image, which boot later frees
		// and poisons: only a copy in the direct map is the real one.
		kva := k.syms.runqueues + off
		if kva >= startKernelMap {
			return nil, fmt.Errorf("%w: per-CPU areas not set up (cpu%d's runqueue is in the kernel image)", ErrNotReady, cpu)
		}
		pa, err := translate(kva, pageOffset)
		if err != nil {
			return nil, fmt.Errorf("%w: cpu%d's runqueue: %v", ErrNotReady, cpu, err)
		}
		g.rq = append(g.rq, pa)
	}
	// A first sample checks every runqueue's CPU number; one that cannot
	// be read yet is not ready either.
	if _, err := g.Sample(nil); err != nil {
		if !errors.Is(err, ErrNotReady) {
			err = fmt.Errorf("%w: %v", ErrNotReady, err)
		}
		return nil, err
	}
	return g, nil
}

// text translates a kernel image address (a symbol) to guest-physical.
func text(kva uint64) uint64 { return kva - startKernelMap }

// translate maps a kernel virtual address in the image or the direct map
// to guest-physical.
func translate(kva, pageOffset uint64) (uint64, error) {
	switch {
	case kva >= startKernelMap:
		return text(kva), nil
	case kva >= pageOffset:
		return kva - pageOffset, nil
	}
	return 0, fmt.Errorf("address %#x is neither in the kernel image nor in the direct map (base %#x)", kva, pageOffset)
}

func (g *Guest) readU32(pa uint64) (uint32, error) {
	var b [4]byte
	if _, err := g.mem.ReadAt(b[:], int64(pa)); err != nil {
		return 0, fmt.Errorf("reading guest memory at %#x: %w", pa, err)
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}

func (g *Guest) readU64(pa uint64) (uint64, error) {
	var b [8]byte
	if _, err := g.mem.ReadAt(b[:], int64(pa)); err != nil {
		return 0, fmt.Errorf("reading guest memory at %#x: %w", pa, err)
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// rawCPU is one read of a struct rq.
type rawCPU struct {
	cpu, nrRunning, clock, nrSwitches uint64
	scxNrRunning, scxFlags, localDSQ  uint64
}

// readCPU reads the span of struct rq that holds every field, in one
// read, and decodes the fields. Fields the kernel lacks read as 0.
func (g *Guest) readCPU(cpu int) (rawCPU, error) {
	if _, err := g.mem.ReadAt(g.buf, int64(g.rq[cpu])); err != nil {
		return rawCPU{}, fmt.Errorf("reading cpu%d's runqueue at %#x: %w", cpu, g.rq[cpu], err)
	}
	l := g.k.rq
	return rawCPU{
		cpu: g.value(l.cpu), nrRunning: g.value(l.nrRunning), clock: g.value(l.clock), nrSwitches: g.value(l.nrSwitches),
		scxNrRunning: g.value(l.scxNrRunning), scxFlags: g.value(l.scxFlags), localDSQ: g.value(l.localDSQ),
	}, nil
}

func (g *Guest) value(f field) uint64 { return littleEndian(g.buf[f.off : f.off+f.size]) }

// littleEndian decodes a 1-, 2-, 4- or 8-byte little-endian unsigned
// value; other lengths read as 0.
func littleEndian(b []byte) uint64 {
	switch len(b) {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(binary.LittleEndian.Uint16(b))
	case 4:
		return uint64(binary.LittleEndian.Uint32(b))
	case 8:
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}
