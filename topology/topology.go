// Package topology is the CPU shape of a test VM: NUMA nodes, last-level
// caches (LLCs), cores per LLC and threads per core. It parses and checks
// the shape a test or a user names ("1n2l4c2t" or "1,2,4,2") and numbers
// its logical CPUs the way the guest will (LLC-major). The VMMs turn a
// Topology into CPUID leaves and ACPI tables; scenario code uses it to
// know what to expect in the guest. It imports nothing of ktstr's, so
// anything that names a shape can depend on it without pulling in a VMM.
package topology

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Topology is the CPU shape a guest sees: NUMA nodes, last-level caches
// (LLCs), cores per LLC and hardware threads per core. LLCs are spread
// evenly over NUMA nodes, so LLCs must be a multiple of NUMANodes.
type Topology struct {
	NUMANodes      int `json:"numa_nodes"`
	LLCs           int `json:"llcs"`
	CoresPerLLC    int `json:"cores_per_llc"`
	ThreadsPerCore int `json:"threads_per_core"`
}

// MaxCPUs is the vCPU limit: the embedded kconfig sets NR_CPUS=64.
const MaxCPUs = 64

var compactTopo = regexp.MustCompile(`^(\d+)n(\d+)l(\d+)c(\d+)t$`)

// Parse accepts the compact form "1n2l4c2t" and the comma form
// "1,2,4,2" (nodes, LLCs, cores per LLC, threads per core).
func Parse(s string) (Topology, error) {
	s = strings.TrimSpace(s)
	var parts []string
	if m := compactTopo.FindStringSubmatch(s); m != nil {
		parts = m[1:]
	} else {
		parts = strings.Split(s, ",")
	}
	if len(parts) != 4 {
		return Topology{}, fmt.Errorf("topology %q: want NnLlCcTt (e.g. 1n2l4c2t) or N,L,C,T (e.g. 1,2,4,2)", s)
	}
	var v [4]int
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return Topology{}, fmt.Errorf("topology %q: field %d (%q) is not a number", s, i+1, p)
		}
		v[i] = n
	}
	t := Topology{NUMANodes: v[0], LLCs: v[1], CoresPerLLC: v[2], ThreadsPerCore: v[3]}
	return t, t.Validate()
}

// Must is Parse for constants in test declarations.
func Must(s string) Topology {
	t, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return t
}

// Validate reports the first reason the shape cannot be booted.
func (t Topology) Validate() error {
	switch {
	case t.NUMANodes < 1, t.LLCs < 1, t.CoresPerLLC < 1, t.ThreadsPerCore < 1:
		return fmt.Errorf("topology %s: every field must be at least 1", t)
	case t.LLCs%t.NUMANodes != 0:
		return fmt.Errorf("topology %s: %d LLCs cannot be spread evenly over %d NUMA nodes; use a multiple of %d LLCs", t, t.LLCs, t.NUMANodes, t.NUMANodes)
	case t.ThreadsPerCore > 2:
		return fmt.Errorf("topology %s: at most 2 threads per core are supported", t)
	case t.CPUs() > MaxCPUs:
		return fmt.Errorf("topology %s: %d CPUs exceeds the kernel's NR_CPUS=%d", t, t.CPUs(), MaxCPUs)
	}
	return nil
}

// CPUs is the total number of logical CPUs.
func (t Topology) CPUs() int { return t.LLCs * t.CoresPerLLC * t.ThreadsPerCore }

// LLCsPerNode is the number of LLCs in each NUMA node.
func (t Topology) LLCsPerNode() int { return t.LLCs / t.NUMANodes }

// String is the compact form, e.g. "2n4l2c1t".
func (t Topology) String() string {
	return fmt.Sprintf("%dn%dl%dc%dt", t.NUMANodes, t.LLCs, t.CoresPerLLC, t.ThreadsPerCore)
}

// CPU describes one logical CPU's place in the topology. Logical CPU
// numbers are assigned LLC-major: all threads of LLC 0 first.
type CPU struct {
	ID     int // logical CPU number as the guest numbers it
	Node   int
	LLC    int // global LLC index
	Core   int // core index within its LLC
	Thread int // thread index within its core
}

// Layout lists every logical CPU in guest numbering order.
func (t Topology) Layout() []CPU {
	cpus := make([]CPU, 0, t.CPUs())
	for l := 0; l < t.LLCs; l++ {
		for c := 0; c < t.CoresPerLLC; c++ {
			for th := 0; th < t.ThreadsPerCore; th++ {
				cpus = append(cpus, CPU{ID: len(cpus), Node: l / t.LLCsPerNode(), LLC: l, Core: c, Thread: th})
			}
		}
	}
	return cpus
}
