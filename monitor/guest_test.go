package monitor

import (
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// sparseMem is guest-physical memory made of a few written pages.
type sparseMem map[uint64][]byte // page number → 4 KiB page

func (m sparseMem) put(pa uint64, v any) {
	var b []byte
	switch x := v.(type) {
	case uint32:
		b = binary.LittleEndian.AppendUint32(nil, x)
	case uint64:
		b = binary.LittleEndian.AppendUint64(nil, x)
	}
	for i, c := range b {
		p := (pa + uint64(i)) >> 12
		if m[p] == nil {
			m[p] = make([]byte, 4096)
		}
		m[p][(pa+uint64(i))&4095] = c
	}
}

func (m sparseMem) ReadAt(p []byte, off int64) (int, error) {
	for i := range p {
		pa := uint64(off) + uint64(i)
		if pa >= 1<<30 {
			return i, io.EOF
		}
		if pg := m[pa>>12]; pg != nil {
			p[i] = pg[pa&4095]
		} else {
			p[i] = 0
		}
	}
	return len(p), nil
}

// A synthetic kernel: struct rq is 64 bytes with the fields at fixed
// offsets, runqueues at per-CPU offset 0x2000.
var testKernel = &Kernel{
	syms: symbols{
		runqueues: 0x2000, perCPUOffset: startKernelMap + 0x1a00000, nrCPUIDs: startKernelMap + 0x1b00000,
		pageOffsetBase: startKernelMap + 0x1a10000,
	},
	rq: rqLayout{
		cpu: field{0, 4}, nrRunning: field{4, 4}, clock: field{8, 8}, nrSwitches: field{16, 8},
		scxNrRunning: field{24, 4}, scxFlags: field{28, 4}, localDSQ: field{40, 4}, span: 44,
	},
}

const testPageOffset = 0xff11000000000000 // a 5-level direct map

// bootedGuest writes what a booted kernel with ncpu CPUs holds: per-CPU
// areas at 16 MiB + cpu*1 MiB in the direct map, each rq with its CPU
// number and cpu+1 runnable tasks.
func bootedGuest(ncpu int) sparseMem {
	m := sparseMem{}
	m.put(text(testKernel.syms.nrCPUIDs), uint32(ncpu))
	m.put(text(testKernel.syms.pageOffsetBase), uint64(testPageOffset))
	for cpu := range ncpu {
		area := uint64(16<<20 + cpu<<20)
		m.put(text(testKernel.syms.perCPUOffset+8*uint64(cpu)), testPageOffset+area)
		rq := area + testKernel.syms.runqueues
		m.put(rq, uint32(cpu))
		m.put(rq+4, uint32(cpu+1))
		m.put(rq+8, uint64(1e9+cpu))
		m.put(rq+16, uint64(100*cpu))
		m.put(rq+40, uint32(7))
	}
	return m
}

func TestAttachAndSample(t *testing.T) {
	g, err := testKernel.Attach(bootedGuest(3), 3)
	if err != nil {
		t.Fatal(err)
	}
	s, err := g.Sample([]time.Duration{time.Second, 2 * time.Second, 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.CPUs) != 3 {
		t.Fatalf("%d CPUs, want 3", len(s.CPUs))
	}
	for cpu, c := range s.CPUs {
		want := CPU{NrRunning: uint32(cpu + 1), Clock: uint64(1e9 + cpu), NrSwitches: uint64(100 * cpu), LocalDSQ: 7,
			VCPUTime: time.Duration(cpu+1) * time.Second}
		if c != want {
			t.Errorf("cpu%d: %+v, want %+v", cpu, c, want)
		}
	}
	if got := s.Imbalance(); got != 3 {
		t.Errorf("imbalance %v, want 3 (3 tasks over 1)", got)
	}
}

// Until the kernel has its per-CPU areas, or when what is read does not
// add up, Attach says not ready (and Run keeps trying); a read outside
// memory is an error of its own.
func TestAttachNotReady(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(m sparseMem)
		ncpu  int
		want  string
		ready bool
	}{
		{"booted", func(sparseMem) {}, 2, "", true},
		{"before setup_nr_cpu_ids", func(m sparseMem) { m.put(text(testKernel.syms.nrCPUIDs), uint32(64)) }, 2, "nr_cpu_ids is 64, want 2", false},
		{"fewer CPUs than asked", func(sparseMem) {}, 3, "nr_cpu_ids is 2, want 3", false},
		{"per-CPU areas not set up", func(m sparseMem) { m.put(text(testKernel.syms.perCPUOffset+8), uint64(0)) }, 2, "neither in the kernel image nor in the direct map", false},
		{"per-CPU template in the kernel image", func(m sparseMem) {
			// Before setup_per_cpu_areas every offset is __per_cpu_load's,
			// and the template there says cpu 0: plausible, and freed later.
			m.put(text(testKernel.syms.perCPUOffset), uint64(startKernelMap+0x2000000))
			m.put(text(startKernelMap+0x2000000+testKernel.syms.runqueues), uint32(0))
		}, 2, "per-CPU areas not set up", false},
		{"rq beyond guest memory", func(m sparseMem) { m.put(text(testKernel.syms.perCPUOffset), uint64(testPageOffset+2<<30)) }, 2, "reading cpu0's runqueue", false},
		{"rq of another CPU", func(m sparseMem) { m.put(16<<20+1<<20+testKernel.syms.runqueues, uint32(0)) }, 2, "cpu1's runqueue says cpu 0", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := bootedGuest(2)
			tc.edit(m)
			_, err := testKernel.Attach(m, tc.ncpu)
			if tc.ready {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want ErrNotReady with %q", err, tc.want)
			}
		})
	}
	// Memory that cannot be read at all (the VM is gone) is not a matter
	// of waiting.
	if _, err := testKernel.Attach(goneMem{}, 1); err == nil || errors.Is(err, ErrNotReady) {
		t.Fatalf("unreadable memory: err %v, want a read error", err)
	}
}

type goneMem struct{}

func (goneMem) ReadAt([]byte, int64) (int, error) { return 0, errors.New("the VM has stopped") }

// A sample re-checks every runqueue's CPU number: addresses gone stale
// say not ready (Run then attaches again) instead of yielding garbage.
func TestSampleRevalidates(t *testing.T) {
	m := bootedGuest(2)
	g, err := testKernel.Attach(m, 2)
	if err != nil {
		t.Fatal(err)
	}
	m.put(16<<20+1<<20+testKernel.syms.runqueues, uint32(0xcccccccc)) // freed and poisoned
	if _, err := g.Sample(nil); !errors.Is(err, ErrNotReady) {
		t.Fatalf("sample of a poisoned runqueue: %v, want ErrNotReady", err)
	}
}
