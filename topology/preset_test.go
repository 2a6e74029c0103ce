package topology

import (
	"regexp"
	"strings"
	"testing"
)

func TestPresets(t *testing.T) {
	ps := Presets()
	if len(ps) < 16 {
		t.Fatalf("%d presets, want at least 16", len(ps))
	}
	nameRE := regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	seenName, seenShape := map[string]bool{}, map[Topology]string{}
	var single, smt, multiLLC, multiNode, max bool
	for _, p := range ps {
		if !nameRE.MatchString(p.Name) {
			t.Errorf("preset name %q: want lower-case letters, digits and '-' (it goes into test names and Bazel tags)", p.Name)
		}
		if seenName[p.Name] {
			t.Errorf("preset %q declared twice", p.Name)
		}
		seenName[p.Name] = true
		if other, dup := seenShape[p.Topology]; dup {
			t.Errorf("presets %q and %q have the same shape %s", other, p.Name, p.Topology)
		}
		seenShape[p.Topology] = p.Name
		if err := p.Topology.Validate(); err != nil {
			t.Errorf("preset %s: %v", p.Name, err)
		}
		if p.Why == "" {
			t.Errorf("preset %s says nothing about what it exercises", p.Name)
		}
		single = single || p.Topology.CPUs() == 1
		smt = smt || p.Topology.ThreadsPerCore == 2
		multiLLC = multiLLC || p.Topology.LLCs > 2
		multiNode = multiNode || p.Topology.NUMANodes > 2
		max = max || p.Topology.CPUs() == MaxCPUs
	}
	if !single || !smt || !multiLLC || !multiNode || !max {
		t.Errorf("coverage: single CPU %v, SMT %v, >2 LLCs %v, >2 nodes %v, %d CPUs %v", single, smt, multiLLC, multiNode, MaxCPUs, max)
	}
	for i := 1; i < len(ps); i++ {
		if ps[i-1].Topology.CPUs() > ps[i].Topology.CPUs() {
			t.Errorf("Presets not smallest first: %s before %s", ps[i-1].Name, ps[i].Name)
		}
	}
}

func TestLookupPreset(t *testing.T) {
	tests := []struct {
		in, wantName, wantErr string
	}{
		{"smt-pair", "smt-pair", ""},
		{" numa2 ", "numa2", ""},
		{"1n2l3c1t", "1n2l3c1t", ""},
		{"1,2,3,1", "1n2l3c1t", ""},
		{"nosuch", "", "no topology preset \"nosuch\": use one of single, "},
	}
	for _, tc := range tests {
		p, err := LookupPreset(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("LookupPreset(%q) err %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || p.Name != tc.wantName {
			t.Errorf("LookupPreset(%q) = %q, %v; want %q", tc.in, p.Name, err, tc.wantName)
		}
	}
}

func TestConstraints(t *testing.T) {
	tests := []struct {
		c       Constraints
		topo    string
		wantErr string
	}{
		{Constraints{}, "1n1l1c1t", ""},
		{Constraints{MinCPUs: 2}, "1n1l1c1t", "1 CPUs, needs at least 2"},
		{Constraints{MaxCPUs: 8}, "2n4l2c2t", "16 CPUs, allows at most 8"},
		{Constraints{MinLLCs: 2}, "1n2l1c1t", ""},
		{Constraints{MinLLCs: 2}, "1n1l4c1t", "1 LLCs, needs at least 2"},
		{Constraints{MinNUMANodes: 2, SMT: true}, "1n1l2c1t", "1 NUMA nodes, needs at least 2; no SMT, needs SMT"},
		{Constraints{NoSMT: true}, "1n1l1c2t", "has SMT, needs none"},
		{Constraints{MaxNUMANodes: 1}, "2n2l1c1t", "2 NUMA nodes, allows at most 1"},
	}
	for _, tc := range tests {
		err := tc.c.Check(Must(tc.topo))
		if tc.wantErr == "" {
			if err != nil {
				t.Errorf("%+v.Check(%s) = %v, want nil", tc.c, tc.topo, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%+v.Check(%s) = %v, want %q", tc.c, tc.topo, err, tc.wantErr)
		}
	}
}
