package scheds

import (
	"context"
	"fmt"
	"sync"

	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/vmm"
)

// Builds shared by every definition below: one per process, cached on
// disk across processes (see Build).
var (
	refOnce  = sync.OnceValues(func() (*Built, error) { return Build(context.Background(), BuildConfig{}) })
	treeOnce = sync.OnceValues(func() (*Built, error) { return Build(context.Background(), BuildConfig{KernelTree: true}) })
)

func loader() (string, error) {
	b, err := refOnce()
	if err != nil {
		return "", err
	}
	return b.Loader, nil
}

func ref(short, opsName string, args ...string) *scenario.Scheduler {
	return &scenario.Scheduler{
		Name: opsName,
		Source: scenario.BPFObject{
			ObjectName: short + ".bpf.o",
			Object: func() (string, error) {
				b, err := refOnce()
				if err != nil {
					return "", err
				}
				return b.Objects[short], nil
			},
			Loader: loader,
			Args:   args,
		},
	}
}

func tree(bin, opsName string) *scenario.Scheduler {
	return &scenario.Scheduler{
		Name: opsName,
		Source: &scenario.BuiltBinary{
			GuestName: bin,
			What:      bin + " from the kernel source's tools/sched_ext",
			Build: func() (string, error) {
				b, err := treeOnce()
				if err != nil {
					return "", err
				}
				p, ok := b.Tools[bin]
				if !ok {
					return "", fmt.Errorf("%s was not built", bin)
				}
				return p, nil
			},
		},
	}
}

// Healthy in-repo reference schedulers.
var (
	// FIFO is one global FIFO (bpf/fifo.bpf.c).
	FIFO = ref("fifo", "ktstr_fifo")
	// VTime is weighted virtual time on one DSQ (bpf/vtime.bpf.c).
	VTime = ref("vtime", "ktstr_vtime")
)

// Deliberately broken in-repo schedulers; each file documents its bug.
var (
	// Starve serves cgroup "cg_1" one slice every 500 ms
	// (bpf/starve.bpf.c): starved, yet under a 2 s watchdog.
	Starve = ref("starve", "ktstr_starve", "-set", "trickle_ms=500")
	// Stall stops dispatching after 500 ms; the watchdog must fire
	// (bpf/stall.bpf.c).
	Stall = ref("stall", "ktstr_stall", "-set", "stall_after_ms=500")
	// Error calls scx_bpf_error after 1.5 s (bpf/error.bpf.c).
	Error = ref("error", "ktstr_error")
	// Unfair gives cgroup "cg_1" 1 ms slices, others 100 ms (bpf/unfair.bpf.c).
	Unfair = ref("unfair", "ktstr_unfair")
)

// The kernel tree's example schedulers, run as external static binaries.
var (
	// Simple is scx_simple; flag "vtime" selects its weighted vtime mode.
	Simple = withFlags(tree("scx_simple", "simple"), scenario.Flag{Name: "vtime", Args: []string{"-v"}})
	// QMap is scx_qmap; flags exercise its knobs.
	QMap = withFlags(tree("scx_qmap", "qmap"),
		scenario.Flag{Name: "short-slice", Args: []string{"-s", "5000"}},
		scenario.Flag{Name: "partial", Args: []string{"-p"}},
		scenario.Flag{Name: "dsp-batch", Args: []string{"-b", "4"}, Requires: []string{"short-slice"}})
	// Central is scx_central. Its ops.init insists on running on the
	// central CPU, but 6.12.117 runs ops.init in an unpinned kthread
	// (scx_ops_enable_helper), so with two or more CPUs it fails at
	// random with "init from non-central CPU": its default topology is
	// one CPU.
	Central = withTopology(tree("scx_central", "central"), vmm.Topology{NUMANodes: 1, LLCs: 1, CoresPerLLC: 1, ThreadsPerCore: 1})
	// FlatCG is scx_flatcg (flattened cgroup hierarchy).
	FlatCG = tree("scx_flatcg", "flatcg")
)

func withFlags(s *scenario.Scheduler, f ...scenario.Flag) *scenario.Scheduler {
	s.Flags = f
	return s
}

func withTopology(s *scenario.Scheduler, t vmm.Topology) *scenario.Scheduler {
	s.Topology = t
	return s
}

// All lists every scheduler defined here, healthy and broken.
func All() []*scenario.Scheduler {
	return []*scenario.Scheduler{FIFO, VTime, Starve, Stall, Error, Unfair, Simple, QMap, Central, FlatCG}
}
