package tests

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/verdict"
)

// numaWork maps a 4 MiB buffer and keeps walking it: its pages stay
// where they were first placed.
var numaWork = scenario.Work{Type: scenario.CachePressureWork, Size: 4 << 20}

// TestNumaMemoryPolicy: on a 2-node guest a worker bound to node 1 has
// its pages on node 1 and one interleaved over both has them on both;
// then a worker whose pages are moved off its bound node behind its back
// (migrate_pages: the policy broken on purpose) fails numa_placement.
func TestNumaMemoryPolicy(t *testing.T) {
	res := ktstr.RunResult(t, ktstr.Opts{Topology: topology.Must("2n2l1c1t"), Timeout: 4 * time.Minute},
		func(ctx *scenario.Ctx) error {
			ctx.Duration = 1500 * time.Millisecond
			if err := scenario.ExecuteDefs(ctx,
				scenario.Cgroup("bound").Work(numaWork).MemPolicy(scenario.BindMemory(1)),
				scenario.Cgroup("interleaved").Work(numaWork).MemPolicy(scenario.InterleaveMemory(0, 1))); err != nil {
				return fmt.Errorf("policies honoured: %w", err)
			}
			return brokenPolicy(ctx)
		})
	if res == nil {
		return
	}
	reports := decodeReports(t, res)
	byCgroup := map[string]scenario.WorkerReport{}
	for _, rs := range reports {
		for _, r := range rs {
			byCgroup[r.Cgroup] = r
		}
	}
	bound, inter, broken := byCgroup["bound"], byCgroup["interleaved"], byCgroup["broken"]
	t.Logf("pages per node: bound(1) %v, interleave(0,1) %v, broken bind(1) %v", bound.PageNodes, inter.PageNodes, broken.PageNodes)
	if bound.PageNodes[1] == 0 || bound.PageNodes[0] > bound.PageNodes[1]/10 {
		t.Errorf("bound to node 1: pages per node %v", bound.PageNodes)
	}
	if inter.PageNodes[0] == 0 || inter.PageNodes[1] == 0 {
		t.Errorf("interleaved over 0,1: pages per node %v", inter.PageNodes)
	}
	if broken.PageNodes[0] == 0 {
		t.Errorf("broken: migrate_pages left pages per node %v", broken.PageNodes)
	}
	all := strings.Join(res.Reasons, "\n")
	if res.Verdict != verdict.Fail || !strings.Contains(all, "numa_placement fail [broken/w0]") ||
		!strings.Contains(all, "outside its memory policy bind(1)") || strings.Contains(all, "[bound/") || strings.Contains(all, "[interleaved/") {
		t.Fatalf("verdict %s, want only the broken policy to fail numa_placement:\n%s", res.Verdict, all)
	}
	t.Logf("failed as it must: %s", all)
}

// brokenPolicy binds a worker to node 1, then moves its pages to node 0
// with migrate_pages(2) from outside, and checks it.
func brokenPolicy(ctx *scenario.Ctx) error {
	if err := ctx.Cgroups.Create("broken"); err != nil {
		return err
	}
	w, err := ctx.Spawn(scenario.WorkloadConfig{Workers: 1, Work: numaWork, MemPolicy: scenario.BindMemory(1)})
	if err != nil {
		return err
	}
	if err := ctx.Cgroups.Move(w, "broken"); err != nil {
		return err
	}
	if err := w.Start(); err != nil {
		return err
	}
	time.Sleep(500 * time.Millisecond)
	from, to := uint64(1<<1), uint64(1<<0)
	for _, pid := range w.PIDs() {
		if _, _, e := unix.Syscall6(unix.SYS_MIGRATE_PAGES, uintptr(pid), 65, uintptr(unsafe.Pointer(&from)), uintptr(unsafe.Pointer(&to)), 0, 0); e != 0 {
			return fmt.Errorf("migrate_pages(%d, 1 -> 0): %w", pid, e)
		}
	}
	time.Sleep(500 * time.Millisecond)
	reports, err := w.Stop()
	if err != nil {
		return err
	}
	ctx.Emit(guest.KindWorkers, map[string]any{"scenario": "broken", "reports": reports})
	return ctx.Check(reports).Err()
}
