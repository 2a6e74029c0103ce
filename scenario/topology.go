package scenario

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/ktstr-go/ktstr/topology"
)

// TestTopology is the CPU topology the guest kernel reports, read from
// sysfs: what a scenario's cpuset specs resolve against.
type TestTopology struct {
	all      CPUSet
	llcs     []CPUSet // ordered by lowest CPU
	nodes    []CPUSet // indexed by position; nodeIDs holds the kernel ids
	nodeIDs  []int
	siblings map[int]CPUSet
	llcOf    map[int]int
	nodeOf   map[int]int
}

// ReadTopology reads the online CPUs' topology under root (normally "/";
// tests pass a fake tree): sysfs cpu topology, the L3 (or highest level)
// cache's shared_cpu_list as the LLC, and the NUMA nodes.
func ReadTopology(root string) (*TestTopology, error) {
	cpuDir := filepath.Join(root, "sys/devices/system/cpu")
	online, err := readCPUList(filepath.Join(cpuDir, "online"))
	if err != nil {
		return nil, fmt.Errorf("reading online cpus: %w", err)
	}
	if online.Empty() {
		return nil, fmt.Errorf("%s/online lists no cpus", cpuDir)
	}
	t := &TestTopology{all: online, siblings: map[int]CPUSet{}, llcOf: map[int]int{}, nodeOf: map[int]int{}}
	seenLLC := map[string]int{}
	for _, cpu := range online.CPUs() {
		dir := filepath.Join(cpuDir, "cpu"+strconv.Itoa(cpu))
		sib, err := readCPUList(filepath.Join(dir, "topology/thread_siblings_list"))
		if err != nil {
			sib = NewCPUSet(cpu) // no SMT information: a core of its own
		}
		t.siblings[cpu] = sib.Intersect(online)
		llc, err := llcOf(dir)
		if err != nil {
			return nil, fmt.Errorf("cpu%d: %w", cpu, err)
		}
		llc = llc.Intersect(online)
		key := llc.String()
		idx, ok := seenLLC[key]
		if !ok {
			idx = len(t.llcs)
			seenLLC[key] = idx
			t.llcs = append(t.llcs, llc)
		}
		t.llcOf[cpu] = idx
	}
	if err := t.readNodes(filepath.Join(root, "sys/devices/system/node")); err != nil {
		return nil, err
	}
	return t, nil
}

// llcOf returns the CPUs sharing cpu's last-level cache: index3 when it
// exists, else the highest-level unified cache, else the package.
func llcOf(dir string) (CPUSet, error) {
	if s, err := readCPUList(filepath.Join(dir, "cache/index3/shared_cpu_list")); err == nil {
		return s, nil
	}
	best, bestLevel := CPUSet{}, -1
	entries, _ := os.ReadDir(filepath.Join(dir, "cache"))
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "index") {
			continue
		}
		idx := filepath.Join(dir, "cache", e.Name())
		lvl, err := readInt(filepath.Join(idx, "level"))
		if err != nil || lvl <= bestLevel {
			continue
		}
		if typ, _ := os.ReadFile(filepath.Join(idx, "type")); strings.TrimSpace(string(typ)) == "Instruction" {
			continue
		}
		if s, err := readCPUList(filepath.Join(idx, "shared_cpu_list")); err == nil {
			best, bestLevel = s, lvl
		}
	}
	if bestLevel >= 0 {
		return best, nil
	}
	if s, err := readCPUList(filepath.Join(dir, "topology/package_cpus_list")); err == nil {
		return s, nil
	}
	if s, err := readCPUList(filepath.Join(dir, "topology/core_siblings_list")); err == nil {
		return s, nil
	}
	return CPUSet{}, errors.New("no cache or package information in sysfs (cache/index*/shared_cpu_list, topology/package_cpus_list)")
}

func (t *TestTopology) readNodes(nodeDir string) error {
	entries, err := os.ReadDir(nodeDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading numa nodes: %w", err)
	}
	for _, e := range entries {
		id, err := strconv.Atoi(strings.TrimPrefix(e.Name(), "node"))
		if err != nil || !strings.HasPrefix(e.Name(), "node") {
			continue
		}
		cpus, err := readCPUList(filepath.Join(nodeDir, e.Name(), "cpulist"))
		if err != nil {
			return fmt.Errorf("reading numa node %d: %w", id, err)
		}
		cpus = cpus.Intersect(t.all)
		if cpus.Empty() {
			continue // memory-only node
		}
		t.nodeIDs = append(t.nodeIDs, id)
		t.nodes = append(t.nodes, cpus)
	}
	if len(t.nodes) == 0 { // !CONFIG_NUMA: one node with everything
		t.nodeIDs, t.nodes = []int{0}, []CPUSet{t.all}
	}
	// Keep nodes in id order (ReadDir sorts by name: node10 < node2).
	idx := make([]int, len(t.nodes))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return t.nodeIDs[a] - t.nodeIDs[b] })
	ids, nodes := make([]int, len(idx)), make([]CPUSet, len(idx))
	for i, j := range idx {
		ids[i], nodes[i] = t.nodeIDs[j], t.nodes[j]
		for _, c := range nodes[i].CPUs() {
			t.nodeOf[c] = i
		}
	}
	t.nodeIDs, t.nodes = ids, nodes
	return nil
}

// TopologyFromSpec builds the topology a topology.Topology describes, numbered
// as the VMM numbers guest CPUs. Useful for planning and for host tests.
func TopologyFromSpec(spec topology.Topology) *TestTopology {
	t := &TestTopology{siblings: map[int]CPUSet{}, llcOf: map[int]int{}, nodeOf: map[int]int{}}
	layout := spec.Layout()
	llcs := make([][]int, spec.LLCs)
	nodes := make([][]int, spec.NUMANodes)
	cores := map[[2]int][]int{}
	var all []int
	for _, c := range layout {
		all = append(all, c.ID)
		llcs[c.LLC] = append(llcs[c.LLC], c.ID)
		nodes[c.Node] = append(nodes[c.Node], c.ID)
		cores[[2]int{c.LLC, c.Core}] = append(cores[[2]int{c.LLC, c.Core}], c.ID)
		t.llcOf[c.ID] = c.LLC
		t.nodeOf[c.ID] = c.Node
	}
	t.all = NewCPUSet(all...)
	for _, l := range llcs {
		t.llcs = append(t.llcs, NewCPUSet(l...))
	}
	for i, n := range nodes {
		t.nodes = append(t.nodes, NewCPUSet(n...))
		t.nodeIDs = append(t.nodeIDs, i)
	}
	for _, ids := range cores {
		for _, id := range ids {
			t.siblings[id] = NewCPUSet(ids...)
		}
	}
	return t
}

// All is every online CPU.
func (t *TestTopology) All() CPUSet { return t.all }

// NumCPUs is the number of online CPUs.
func (t *TestTopology) NumCPUs() int { return t.all.Len() }

// NumLLCs is the number of distinct last-level caches.
func (t *TestTopology) NumLLCs() int { return len(t.llcs) }

// NumNodes is the number of NUMA nodes with CPUs.
func (t *TestTopology) NumNodes() int { return len(t.nodes) }

// LLC returns the CPUs of the i-th LLC (ordered by lowest CPU).
func (t *TestTopology) LLC(i int) (CPUSet, error) {
	if i < 0 || i >= len(t.llcs) {
		return CPUSet{}, fmt.Errorf("LLC %d does not exist: the guest has %d LLC(s) (0..%d)", i, len(t.llcs), len(t.llcs)-1)
	}
	return t.llcs[i], nil
}

// LLCs returns every LLC's CPUs.
func (t *TestTopology) LLCs() []CPUSet { return slices.Clone(t.llcs) }

// Node returns the CPUs of the i-th NUMA node (in node id order).
func (t *TestTopology) Node(i int) (CPUSet, error) {
	if i < 0 || i >= len(t.nodes) {
		return CPUSet{}, fmt.Errorf("NUMA node %d does not exist: the guest has %d node(s) with CPUs (0..%d)", i, len(t.nodes), len(t.nodes)-1)
	}
	return t.nodes[i], nil
}

// NodeID is the kernel's id of the i-th node (for cpuset.mems).
func (t *TestTopology) NodeID(i int) int { return t.nodeIDs[i] }

// NodesOf returns the kernel ids of the NUMA nodes holding any of cpus:
// the natural cpuset.mems for a cpuset.
func (t *TestTopology) NodesOf(cpus CPUSet) []int {
	var ids []int
	for i, n := range t.nodes {
		if !n.Intersect(cpus).Empty() {
			ids = append(ids, t.nodeIDs[i])
		}
	}
	return ids
}

// Siblings returns the SMT siblings of cpu, itself included.
func (t *TestTopology) Siblings(cpu int) CPUSet { return t.siblings[cpu] }

// ThreadsPerCore is the largest SMT sibling group size.
func (t *TestTopology) ThreadsPerCore() int {
	n := 1
	for _, s := range t.siblings {
		n = max(n, s.Len())
	}
	return n
}

// LLCIndexOf is the LLC index of cpu, or -1.
func (t *TestTopology) LLCIndexOf(cpu int) int {
	if i, ok := t.llcOf[cpu]; ok {
		return i
	}
	return -1
}

// Describe summarises the topology for logs and records.
func (t *TestTopology) Describe() map[string]any {
	llcs := make([]string, len(t.llcs))
	for i, l := range t.llcs {
		llcs[i] = l.String()
	}
	nodes := make([]string, len(t.nodes))
	for i, n := range t.nodes {
		nodes[i] = n.String()
	}
	return map[string]any{"cpus": t.all.String(), "llcs": llcs, "nodes": nodes, "threads_per_core": t.ThreadsPerCore()}
}

// Mismatch compares the topology with the shape a test asked for and
// returns why they differ, or "" when they agree. Zero specs match.
func (t *TestTopology) Mismatch(spec topology.Topology) string {
	if spec == (topology.Topology{}) {
		return ""
	}
	var why []string
	if t.NumCPUs() != spec.CPUs() {
		why = append(why, fmt.Sprintf("%d cpus, want %d", t.NumCPUs(), spec.CPUs()))
	}
	if t.NumLLCs() != spec.LLCs {
		why = append(why, fmt.Sprintf("%d LLCs, want %d", t.NumLLCs(), spec.LLCs))
	}
	if t.NumNodes() != spec.NUMANodes {
		why = append(why, fmt.Sprintf("%d NUMA nodes, want %d", t.NumNodes(), spec.NUMANodes))
	}
	if t.ThreadsPerCore() != spec.ThreadsPerCore {
		why = append(why, fmt.Sprintf("%d threads per core, want %d", t.ThreadsPerCore(), spec.ThreadsPerCore))
	}
	if len(why) == 0 {
		return ""
	}
	return fmt.Sprintf("guest topology %v differs from %s: %s", t.Describe()["llcs"], spec, strings.Join(why, ", "))
}

func readCPUList(path string) (CPUSet, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return CPUSet{}, err
	}
	return ParseCPUSet(string(b))
}

func readInt(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}
