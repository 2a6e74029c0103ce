package scheds

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/topology"
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

func ref(short, opsName string, args ...string) *Scheduler {
	return &Scheduler{
		Name: opsName,
		Source: BPFObject{
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

func tree(bin, opsName string) *Scheduler {
	return &Scheduler{
		Name: opsName,
		Source: &BuiltBinary{
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
	// Wedge freezes cpu1 with interrupts off for 2 s, 1.5 s after load
	// (bpf/wedge.bpf.c): only the host monitor names it.
	Wedge = ref("wedge", "ktstr_wedge")
)

// The kernel tree's example schedulers, run as external static binaries.
var (
	// Simple is scx_simple; flag "vtime" selects its weighted vtime mode.
	Simple = withFlags(tree("scx_simple", "simple"), Flag{Name: "vtime", Args: []string{"-v"}})
	// QMap is scx_qmap; flags exercise its knobs.
	QMap = withFlags(tree("scx_qmap", "qmap"),
		Flag{Name: "short-slice", Args: []string{"-s", "5000"}},
		Flag{Name: "partial", Args: []string{"-p"}},
		Flag{Name: "dsp-batch", Args: []string{"-b", "4"}, Requires: []string{"short-slice"}})
	// Central is scx_central. Its ops.init insists on running on the
	// central CPU (0), but 6.12.117 runs ops.init in the kthread
	// scx_ops_enable_helper, created unpinned on the first enable, so a
	// plain launch on two or more CPUs fails at random with "init from
	// non-central CPU". It is launched through `scxload -exec`, which
	// creates that kthread with a prime object (bpf/prime.bpf.c), pins it
	// and itself to CPU 0, then execs scx_central. Two CPUs: one CPU
	// would leave the central CPU both dispatching for everyone and
	// running every task, which is not the design it is meant to run in.
	// Every runnable task waits on the central CPU's runqueue until it is
	// dispatched, so nr_running piles up there by design: the monitor
	// keeps its stall and DSQ bounds but not the load-imbalance one.
	Central = withMonitor(withTopology(pinnedInit(tree("scx_central", "central"), 0), topology.Topology{NUMANodes: 1, LLCs: 1, CoresPerLLC: 2, ThreadsPerCore: 1}),
		monitor.BalanceAgnostic)
	// FlatCG is scx_flatcg (flattened cgroup hierarchy).
	FlatCG = tree("scx_flatcg", "flatcg")
)

// pinnedLaunch runs a scheduler binary through `scxload -exec` so that
// its ops.init runs on CPU cpu (see Central).
type pinnedLaunch struct {
	bin Source
	cpu int
}

func pinnedInit(s *Scheduler, cpu int) *Scheduler {
	s.Source = pinnedLaunch{bin: s.Source, cpu: cpu}
	return s
}

// Files implements Source: the binary, the loader and the prime
// object.
func (p pinnedLaunch) Files() (map[string]string, error) {
	files, err := p.bin.Files()
	if err != nil {
		return nil, err
	}
	b, err := refOnce()
	if err != nil {
		return nil, err
	}
	files[guest.SchedPath("scxload")] = b.Loader
	files[guest.SchedPath("prime.bpf.o")] = b.Objects["prime"]
	return files, nil
}

// Argv implements Source.
func (p pinnedLaunch) Argv() []string {
	return append([]string{guest.SchedPath("scxload"), "-exec",
		"-prime", guest.SchedPath("prime.bpf.o"), "-pin-enable-helper", strconv.Itoa(p.cpu), "--"}, p.bin.Argv()...)
}

func (p pinnedLaunch) String() string {
	return fmt.Sprintf("%s, ops.init pinned to CPU %d", p.bin, p.cpu)
}

func withFlags(s *Scheduler, f ...Flag) *Scheduler {
	s.Flags = f
	return s
}

func withTopology(s *Scheduler, t topology.Topology) *Scheduler {
	s.Topology = t
	return s
}

func withMonitor(s *Scheduler, th monitor.Thresholds) *Scheduler {
	s.Monitor = &th
	return s
}

// All lists every scheduler defined here, healthy and broken.
func All() []*Scheduler {
	return []*Scheduler{FIFO, VTime, Starve, Stall, Error, Unfair, Wedge, Simple, QMap, Central, FlatCG}
}
