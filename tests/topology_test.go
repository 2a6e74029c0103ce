package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/topology"
)

// TestTopologyShapes boots each shape and checks, from inside the guest,
// that sysfs shows exactly what was asked for: CPU count, SMT siblings,
// one LLC (L3) per group of cores, and the NUMA nodes with their CPUs.
func TestTopologyShapes(t *testing.T) {
	for _, shape := range []string{"1n1l2c1t", "1n2l2c2t", "2n2l2c1t"} {
		topo := topology.Must(shape)
		t.Run(shape, func(t *testing.T) {
			ktstr.Run(t, ktstr.Opts{Topology: topo}, func(*scenario.Ctx) error {
				return checkTopology(topo)
			})
		})
	}
	// The check itself must catch a wrong shape: the same guest compared
	// with another topology fails.
	t.Run("mismatch_detected", func(t *testing.T) {
		ktstr.Run(t, ktstr.Opts{Topology: topology.Must("1n1l2c1t")}, func(*scenario.Ctx) error {
			if err := checkTopology(topology.Must("1n2l1c1t")); err == nil {
				return fmt.Errorf("a 1n1l2c1t guest passed the 1n2l1c1t check")
			}
			return nil
		})
	})
}

func readSys(p string) (string, error) {
	b, err := os.ReadFile(p)
	return strings.TrimSpace(string(b)), err
}

// checkTopology compares the guest's sysfs with the requested shape.
func checkTopology(topo topology.Topology) error {
	var errs []string
	fail := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	online, err := readSys("/sys/devices/system/cpu/online")
	if err != nil {
		return err
	}
	if want := fmt.Sprintf("0-%d", topo.CPUs()-1); topo.CPUs() > 1 && online != want {
		fail("online CPUs %s, want %s", online, want)
	}
	layout := topo.Layout()
	for _, c := range layout {
		base := fmt.Sprintf("/sys/devices/system/cpu/cpu%d", c.ID)
		// SMT siblings: the threads of the same core.
		first := c.ID - c.Thread
		wantSib := fmt.Sprint(first)
		if topo.ThreadsPerCore == 2 {
			wantSib = fmt.Sprintf("%d-%d", first, first+1)
		}
		if got, _ := readSys(base + "/topology/thread_siblings_list"); got != wantSib {
			fail("cpu%d thread_siblings_list %q, want %q", c.ID, got, wantSib)
		}
		// The LLC (L3) is shared by exactly the CPUs of one LLC.
		per := topo.CoresPerLLC * topo.ThreadsPerCore
		lo := c.LLC * per
		wantLLC := fmt.Sprint(lo)
		if per > 1 {
			wantLLC = fmt.Sprintf("%d-%d", lo, lo+per-1)
		}
		if got, _ := readSys(base + "/cache/index3/shared_cpu_list"); got != wantLLC {
			fail("cpu%d L3 shared_cpu_list %q, want %q", c.ID, got, wantLLC)
		}
	}
	nodes, _ := filepath.Glob("/sys/devices/system/node/node[0-9]*")
	if len(nodes) != topo.NUMANodes {
		fail("%d NUMA nodes, want %d", len(nodes), topo.NUMANodes)
	}
	perNode := topo.CPUs() / topo.NUMANodes
	for n := 0; n < topo.NUMANodes; n++ {
		lo := n * perNode
		want := fmt.Sprint(lo)
		if perNode > 1 {
			want = fmt.Sprintf("%d-%d", lo, lo+perNode-1)
		}
		got, _ := readSys(fmt.Sprintf("/sys/devices/system/node/node%d/cpulist", n))
		if got != want {
			fail("node%d cpulist %q, want %q", n, got, want)
		}
		dist, _ := readSys(fmt.Sprintf("/sys/devices/system/node/node%d/distance", n))
		var wantDist []string
		for m := 0; m < topo.NUMANodes; m++ {
			wantDist = append(wantDist, fmt.Sprint(topology.NodeDistance(n, m)))
		}
		if dist != strings.Join(wantDist, " ") {
			fail("node%d distance %q, want %q", n, dist, strings.Join(wantDist, " "))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("guest topology differs from %s:\n%s", topo, strings.Join(errs, "\n"))
	}
	return nil
}
