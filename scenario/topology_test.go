package scenario

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ktstr-go/ktstr/topology"
)

// fakeSysfs writes the sysfs files ReadTopology reads for the shape spec,
// the way the guest kernel lays them out. opts tweak it: "no-l3" drops
// cache/index3 (leaving index2 per core), "no-node" drops the node dir.
func fakeSysfs(t *testing.T, spec topology.Topology, opts ...string) string {
	t.Helper()
	has := func(o string) bool {
		for _, x := range opts {
			if x == o {
				return true
			}
		}
		return false
	}
	root := t.TempDir()
	ref := TopologyFromSpec(spec)
	cpuDir := filepath.Join(root, "sys/devices/system/cpu")
	write := func(path, content string) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(cpuDir, "online"), ref.All().String())
	for _, c := range spec.Layout() {
		dir := filepath.Join(cpuDir, fmt.Sprintf("cpu%d", c.ID))
		write(filepath.Join(dir, "topology/thread_siblings_list"), ref.Siblings(c.ID).String())
		llc, _ := ref.LLC(c.LLC)
		write(filepath.Join(dir, "topology/package_cpus_list"), llc.String())
		write(filepath.Join(dir, "cache/index0/level"), "1")
		write(filepath.Join(dir, "cache/index0/type"), "Data")
		write(filepath.Join(dir, "cache/index0/shared_cpu_list"), ref.Siblings(c.ID).String())
		write(filepath.Join(dir, "cache/index1/level"), "1")
		write(filepath.Join(dir, "cache/index1/type"), "Instruction")
		write(filepath.Join(dir, "cache/index1/shared_cpu_list"), ref.All().String()) // must be ignored
		write(filepath.Join(dir, "cache/index2/level"), "2")
		write(filepath.Join(dir, "cache/index2/type"), "Unified")
		if has("no-l3") {
			write(filepath.Join(dir, "cache/index2/shared_cpu_list"), llc.String())
		} else {
			write(filepath.Join(dir, "cache/index2/shared_cpu_list"), ref.Siblings(c.ID).String())
			write(filepath.Join(dir, "cache/index3/level"), "3")
			write(filepath.Join(dir, "cache/index3/shared_cpu_list"), llc.String())
		}
	}
	if !has("no-node") {
		for i := range spec.NUMANodes {
			n, _ := ref.Node(i)
			write(filepath.Join(root, fmt.Sprintf("sys/devices/system/node/node%d/cpulist", i)), n.String())
		}
		write(filepath.Join(root, "sys/devices/system/node/online"), fmt.Sprintf("0-%d", spec.NUMANodes-1))
	}
	return root
}

func TestReadTopology(t *testing.T) {
	tests := []struct {
		spec    string
		opts    []string
		llcs    []string
		nodes   []string
		threads int
	}{
		{"1n1l2c1t", nil, []string{"0-1"}, []string{"0-1"}, 1},
		{"1n3l2c1t", nil, []string{"0-1", "2-3", "4-5"}, []string{"0-5"}, 1},
		{"1n3l1c2t", nil, []string{"0-1", "2-3", "4-5"}, []string{"0-5"}, 2},
		{"2n2l2c2t", nil, []string{"0-3", "4-7"}, []string{"0-3", "4-7"}, 2},
		{"2n4l1c1t", nil, []string{"0", "1", "2", "3"}, []string{"0-1", "2-3"}, 1},
		{"1n3l2c1t", []string{"no-l3"}, []string{"0-1", "2-3", "4-5"}, []string{"0-5"}, 1},
		{"2n2l2c1t", []string{"no-node"}, []string{"0-1", "2-3"}, []string{"0-3"}, 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.spec, tt.opts), func(t *testing.T) {
			spec := topology.Must(tt.spec)
			topo, err := ReadTopology(fakeSysfs(t, spec, tt.opts...))
			if err != nil {
				t.Fatal(err)
			}
			var llcs, nodes []string
			for _, l := range topo.LLCs() {
				llcs = append(llcs, l.String())
			}
			for i := range topo.NumNodes() {
				n, _ := topo.Node(i)
				nodes = append(nodes, n.String())
			}
			if fmt.Sprint(llcs) != fmt.Sprint(tt.llcs) || fmt.Sprint(nodes) != fmt.Sprint(tt.nodes) || topo.ThreadsPerCore() != tt.threads {
				t.Errorf("got llcs %v nodes %v threads %d, want %v %v %d", llcs, nodes, topo.ThreadsPerCore(), tt.llcs, tt.nodes, tt.threads)
			}
			if tt.opts == nil {
				if why := topo.Mismatch(spec); why != "" {
					t.Errorf("Mismatch(%s) = %q, want agreement", spec, why)
				}
			}
		})
	}
}

func TestTopologyMismatch(t *testing.T) {
	topo, err := ReadTopology(fakeSysfs(t, topology.Must("1n1l4c1t")))
	if err != nil {
		t.Fatal(err)
	}
	why := topo.Mismatch(topology.Must("1n2l2c1t"))
	if why == "" || !contains(why, "1 LLCs, want 2") {
		t.Errorf("Mismatch = %q, want it to name the LLC count", why)
	}
	if topo.Mismatch(topology.Topology{}) != "" {
		t.Error("a zero spec must match anything")
	}
}

func TestReadTopologyErrors(t *testing.T) {
	if _, err := ReadTopology(t.TempDir()); err == nil {
		t.Error("empty tree: want an error")
	}
	root := t.TempDir()
	dir := filepath.Join(root, "sys/devices/system/cpu")
	if err := os.MkdirAll(filepath.Join(dir, "cpu0"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "online"), []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadTopology(root); err == nil || !contains(err.Error(), "no cache or package information") {
		t.Errorf("no cache info: err = %v", err)
	}
}

func TestReadTopologyHost(t *testing.T) {
	topo, err := ReadTopology("/")
	if err != nil {
		t.Skipf("host sysfs: %v", err)
	}
	if topo.NumCPUs() < 1 || topo.NumLLCs() < 1 || topo.NumNodes() < 1 {
		t.Errorf("host topology %v is empty somewhere", topo.Describe())
	}
	var union CPUSet
	for _, l := range topo.LLCs() {
		union = union.Union(l)
	}
	if !union.Equal(topo.All()) {
		t.Errorf("LLCs %v do not cover all cpus %s", topo.Describe()["llcs"], topo.All())
	}
}
