package scenario

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// CounterFaults counts the pages page_fault_churn touched after dropping
// them: each is one page fault (WorkerReport.MinorFaults has the kernel's
// count).
const CounterFaults = "faults"

var pageSize = os.Getpagesize()

func checkFaultSize(w Work) error {
	if w.Size != 0 && (w.Size < pageSize || w.Size%pageSize != 0) {
		return fmt.Errorf("work type %s: Size %d must be a positive multiple of the page size (%d)", w.Type, w.Size, pageSize)
	}
	return nil
}

// mapBuffer maps size bytes of anonymous memory for the work, placed by
// the worker's memory policy (mbind, so it holds whichever thread
// faults the pages in), and unmapped when the worker exits.
func (w *workerEnv) mapBuffer(size int) ([]byte, error) {
	b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, fmt.Errorf("mapping %s: %w", byteSize(size), err)
	}
	if err := w.spec.MemPolicy.bind(b); err != nil {
		_ = unix.Munmap(b)
		return nil, err
	}
	w.bufMu.Lock()
	defer w.bufMu.Unlock()
	w.buffers = append(w.buffers, b)
	w.cleanup = append(w.cleanup, func() { _ = unix.Munmap(b) })
	return b, nil
}

// setupPageFaultChurn touches every page of its region (one fault each,
// one work unit each), then drops the region with MADV_DONTNEED so the
// next pass faults every page in again.
func setupPageFaultChurn(w *workerEnv) (func(int, *tracker), func(), error) {
	region, err := w.mapBuffer(w.work.Size)
	if err != nil {
		return nil, nil, fmt.Errorf("page_fault_churn: %w", err)
	}
	return func(_ int, tr *tracker) {
		for !w.stopped() {
			for off := 0; off < len(region) && !w.stopped(); off += pageSize {
				region[off] = 1
				tr.tick(1)
				tr.count(CounterFaults, 1)
			}
			if w.stopped() {
				// Keep the pages: the report says where they are.
				return
			}
			if err := unix.Madvise(region, unix.MADV_DONTNEED); err != nil {
				w.fail(fmt.Errorf("page_fault_churn: madvise: %w", err))
				return
			}
		}
	}, nil, nil
}
