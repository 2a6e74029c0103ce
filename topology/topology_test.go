package topology

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Topology
		wantErr string
	}{
		{"1n2l4c2t", Topology{1, 2, 4, 2}, ""},
		{"1,2,4,2", Topology{1, 2, 4, 2}, ""},
		{" 2n4l2c1t ", Topology{2, 4, 2, 1}, ""},
		{"2,3,1,1", Topology{}, "spread evenly"},
		{"1,1,1,3", Topology{}, "at most 2 threads"},
		{"1,4,16,2", Topology{}, "NR_CPUS"},
		{"0,1,1,1", Topology{}, "at least 1"},
		{"1,2,x,1", Topology{}, "not a number"},
		{"1n2l", Topology{}, "want NnLlCcTt"},
	}
	for _, tc := range tests {
		got, err := Parse(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Parse(%q) err %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		if back, _ := Parse(got.String()); back != got {
			t.Errorf("String round trip of %+v gave %+v", got, back)
		}
	}
}

func TestLayout(t *testing.T) {
	topo := Must("2n4l2c2t")
	cpus := topo.Layout()
	if len(cpus) != 16 {
		t.Fatalf("%d CPUs, want 16", len(cpus))
	}
	// SMT siblings adjacent, LLC-major, two LLCs per node.
	want := map[int]CPU{
		0:  {ID: 0, Node: 0, LLC: 0, Core: 0, Thread: 0},
		1:  {ID: 1, Node: 0, LLC: 0, Core: 0, Thread: 1},
		2:  {ID: 2, Node: 0, LLC: 0, Core: 1, Thread: 0},
		5:  {ID: 5, Node: 0, LLC: 1, Core: 0, Thread: 1},
		8:  {ID: 8, Node: 1, LLC: 2, Core: 0, Thread: 0},
		15: {ID: 15, Node: 1, LLC: 3, Core: 1, Thread: 1},
	}
	for i, w := range want {
		if cpus[i] != w {
			t.Errorf("cpu %d = %+v, want %+v", i, cpus[i], w)
		}
	}
}
