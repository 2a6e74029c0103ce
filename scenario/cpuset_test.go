package scenario

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/topology"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestParseCPUSet(t *testing.T) {
	tests := []struct {
		in, out string
		err     bool
	}{
		{"", "", false},
		{"0", "0", false},
		{"0-3", "0-3", false},
		{"3,1,2,0", "0-3", false},
		{"0-1,4,6-7\n", "0-1,4,6-7", false},
		{"5,5,5", "5", false},
		{"3-1", "", true},
		{"a", "", true},
		{"-1", "", true},
		{"1-", "", true},
	}
	for _, tt := range tests {
		s, err := ParseCPUSet(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("ParseCPUSet(%q) err = %v, want error %v", tt.in, err, tt.err)
			continue
		}
		if err == nil && s.String() != tt.out {
			t.Errorf("ParseCPUSet(%q) = %q, want %q", tt.in, s, tt.out)
		}
	}
}

func TestCPUSetOps(t *testing.T) {
	a, b := MustParseCPUSet("0-5"), MustParseCPUSet("4-9")
	if got := a.Union(b).String(); got != "0-9" {
		t.Errorf("union %s", got)
	}
	if got := a.Intersect(b).String(); got != "4-5" {
		t.Errorf("intersect %s", got)
	}
	if got := a.Minus(b).String(); got != "0-3" {
		t.Errorf("minus %s", got)
	}
	if a.SubsetOf(b) || !MustParseCPUSet("4").SubsetOf(b) || !(CPUSet{}).SubsetOf(a) {
		t.Error("SubsetOf wrong")
	}
	if !a.Contains(5) || a.Contains(6) || a.Len() != 6 {
		t.Error("Contains/Len wrong")
	}
	js, err := json.Marshal(a)
	if err != nil || string(js) != `"0-5"` {
		t.Fatalf("marshal %s %v", js, err)
	}
	var back CPUSet
	if err := json.Unmarshal(js, &back); err != nil || !back.Equal(a) {
		t.Errorf("round trip %s %v", back, err)
	}
}

func TestCpusetSpecs(t *testing.T) {
	topos := map[string]*TestTopology{
		"3llc":  TopologyFromSpec(topology.Must("1n3l2c1t")), // 0-1 2-3 4-5
		"smt":   TopologyFromSpec(topology.Must("1n2l2c2t")), // 0-3 4-7, siblings 0,1 ...
		"2numa": TopologyFromSpec(topology.Must("2n4l1c1t")), // nodes 0-1 2-3
		"odd":   TopologyFromSpec(topology.Must("1n1l5c1t")), // 0-4
	}
	tests := []struct {
		topo string
		spec CpusetSpec
		want string // "" means an error is expected
	}{
		{"3llc", LLC(0), "0-1"},
		{"3llc", LLC(2), "4-5"},
		{"3llc", LLC(3), ""},
		{"3llc", Disjoint(0, 3), "0-1"},
		{"3llc", Disjoint(2, 3), "4-5"},
		{"3llc", Disjoint(0, 4), "0-1"},
		{"3llc", Disjoint(3, 4), "5"},
		{"3llc", Disjoint(0, 7), ""},
		{"3llc", Overlapping(0, 3, 0.5), "0-2"},
		{"3llc", Overlapping(1, 3, 0.5), "2-4"},
		{"3llc", Overlapping(2, 3, 0.5), "3-5"},
		{"3llc", Range(0, 0.5), "0-2"},
		{"3llc", Range(0.5, 1), "3-5"},
		{"3llc", Range(0.9, 1), "5"},
		{"3llc", Range(0.5, 0.5), ""},
		{"3llc", Exact(1, 4), "1,4"},
		{"3llc", Exact(6), ""},
		{"3llc", NUMA(0), "0-5"},
		{"3llc", NUMA(1), ""},
		{"3llc", AllCPUs().Minus(LLC(1)), "0-1,4-5"},
		{"3llc", LLC(1).Minus(LLC(1)), ""},
		{"smt", Siblings(2), "2-3"},
		{"smt", Siblings(7), "6-7"},
		{"smt", LLC(1), "4-7"},
		{"smt", Disjoint(1, 2), "4-7"},
		{"smt", Siblings(8), ""},
		{"2numa", NUMA(1), "2-3"},
		{"2numa", LLC(3), "3"},
		{"2numa", Disjoint(1, 3), "2"},
		{"odd", Disjoint(0, 2), "0-2"},
		{"odd", Disjoint(1, 2), "3-4"},
		{"odd", Overlapping(1, 2, 0.5), "2-4"},
		{"odd", Range(0, 0.5), "0-2"},
	}
	for _, tt := range tests {
		got, err := tt.spec.Resolve(topos[tt.topo])
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("%s %s = %s, want an error", tt.topo, tt.spec, got)
		case tt.want != "" && err != nil:
			t.Errorf("%s %s: %v", tt.topo, tt.spec, err)
		case tt.want != "" && got.String() != tt.want:
			t.Errorf("%s %s = %s, want %s", tt.topo, tt.spec, got, tt.want)
		}
	}
}

func TestDisjointPartitionsCover(t *testing.T) {
	for _, spec := range []string{"1n3l2c1t", "1n1l5c1t", "2n2l3c2t", "1n1l7c1t"} {
		topo := TopologyFromSpec(topology.Must(spec))
		for n := 1; n <= topo.NumCPUs(); n++ {
			var union CPUSet
			for i := range n {
				part, err := Disjoint(i, n).Resolve(topo)
				if err != nil {
					t.Fatalf("%s disjoint %d/%d: %v", spec, i, n, err)
				}
				if !part.Intersect(union).Empty() {
					t.Errorf("%s disjoint %d/%d = %s overlaps earlier parts %s", spec, i, n, part, union)
				}
				union = union.Union(part)
			}
			if !union.Equal(topo.All()) {
				t.Errorf("%s: %d disjoint parts cover %s, want %s", spec, n, union, topo.All())
			}
		}
	}
}

func TestTopologyFromSpecNodesOf(t *testing.T) {
	topo := TopologyFromSpec(topology.Must("2n2l2c1t"))
	if got := topo.NodesOf(MustParseCPUSet("1-2")); len(got) != 2 {
		t.Errorf("NodesOf(1-2) = %v, want both nodes", got)
	}
	if got := topo.NodesOf(MustParseCPUSet("3")); len(got) != 1 || got[0] != 1 {
		t.Errorf("NodesOf(3) = %v, want [1]", got)
	}
	if topo.LLCIndexOf(3) != 1 || topo.LLCIndexOf(9) != -1 {
		t.Error("LLCIndexOf wrong")
	}
}
