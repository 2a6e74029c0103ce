package vmm

import (
	"slices"
	"strings"
	"testing"
)

func TestParseTopology(t *testing.T) {
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
		got, err := ParseTopology(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseTopology(%q) err %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseTopology(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		if back, _ := ParseTopology(got.String()); back != got {
			t.Errorf("String round trip of %+v gave %+v", got, back)
		}
	}
}

func TestLayout(t *testing.T) {
	topo := MustTopology("2n4l2c2t")
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

func TestSplitMemory(t *testing.T) {
	tests := []struct {
		mb, nodes int
		wantMB    []uint64 // per node
		wantErr   string
	}{
		{0, 1, []uint64{1024}, ""},
		{1000, 3, []uint64{334, 334, 332}, ""},
		{1001, 1, []uint64{1001}, ""},
		{1001, 3, []uint64{334, 334, 333}, ""},
		{1024, 4, []uint64{256, 256, 256, 256}, ""},
		{514, 4, []uint64{130, 128, 128, 128}, ""},
		{512, 4, []uint64{128, 128, 128, 128}, ""},
		{maxLowMemMB, 2, []uint64{maxLowMemMB / 2, maxLowMemMB / 2}, ""},
		{511, 4, nil, "give at least 512 MiB"},
		{256, 4, nil, "leaves 64 MiB per node"},
		{-1, 1, nil, "give at least 128 MiB"},
		{maxLowMemMB + 1, 1, nil, "use less memory"},
		{1024, 0, nil, "0 NUMA nodes"},
	}
	for _, tc := range tests {
		got, err := splitMemory(tc.mb, tc.nodes)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("splitMemory(%d, %d) err %v, want %q", tc.mb, tc.nodes, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("splitMemory(%d, %d): %v", tc.mb, tc.nodes, err)
			continue
		}
		var base uint64
		var gotMB []uint64
		for i, n := range got {
			if n.Node != i || n.Base != base {
				t.Errorf("splitMemory(%d, %d) node %d is %+v, want node %d at %#x", tc.mb, tc.nodes, i, n, i, base)
			}
			if i < len(got)-1 && n.Size%(2<<20) != 0 {
				t.Errorf("splitMemory(%d, %d) node %d ends off a 2 MiB boundary", tc.mb, tc.nodes, i)
			}
			base += n.Size
			gotMB = append(gotMB, n.Size>>20)
		}
		if !slices.Equal(gotMB, tc.wantMB) {
			t.Errorf("splitMemory(%d, %d) = %v MiB, want %v", tc.mb, tc.nodes, gotMB, tc.wantMB)
		}
	}
}
