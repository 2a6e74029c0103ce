package tests

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/vmm"
)

const memMarker = "ktstr guest-memory marker 5f3a9c"

// TestHostReadsGuestMemory: the guest writes a marker into a page, finds
// its physical address in /proc/self/pagemap and tells the host, which
// must read the same bytes through Machine.Memory while the VM runs.
func TestHostReadsGuestMemory(t *testing.T) {
	var (
		mu   sync.Mutex
		mach vmm.Machine
		got  []byte
		rerr error
	)
	ro := ktstr.RunOptions{
		OnMachine: func(m vmm.Machine) { mu.Lock(); mach = m; mu.Unlock() },
		OnRecord: func(r guest.Record) {
			if r.Kind != guest.KindOutput {
				return
			}
			var o guest.Output
			var phys uint64
			if r.Decode(&o) != nil || o.Stream != "phys" {
				return
			}
			fmt.Sscanf(string(o.Data), "%d", &phys)
			mu.Lock()
			defer mu.Unlock()
			got = make([]byte, len(memMarker))
			_, rerr = mach.Memory().ReadAt(got, int64(phys))
		},
	}
	res := ktstr.RunResultWith(t, ktstr.Opts{Topology: topology.Must("1n1l1c1t")}, ro, func(ctx *scenario.Ctx) error {
		page := make([]byte, 4096)
		copy(page, memMarker)
		phys, err := guest.PhysAddr(uintptr(unsafe.Pointer(&page[0])))
		if err != nil {
			return err
		}
		ktstr.Emit(guest.KindOutput, guest.Output{Stream: "phys", Data: []byte(fmt.Sprint(phys))})
		time.Sleep(2 * time.Second) // keep the page while the host reads it
		if string(page[:len(memMarker)]) != memMarker {
			return fmt.Errorf("marker changed")
		}
		return nil
	})
	if res == nil {
		return
	}
	if !res.Passed() {
		t.Fatalf("guest side failed: %s %v", res.Verdict, res.Reasons)
	}
	mu.Lock()
	defer mu.Unlock()
	if rerr != nil || !bytes.Equal(got, []byte(memMarker)) {
		t.Fatalf("host read %q (%v), want %q", got, rerr, memMarker)
	}
}
