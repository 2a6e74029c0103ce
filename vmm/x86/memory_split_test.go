package x86

import (
	"slices"
	"strings"
	"testing"
)

func TestSplitMemory(t *testing.T) {
	tests := []struct {
		mb, nodes int
		wantMB    []uint64 // per node
		wantErr   string
	}{
		{0, 1, nil, "give at least 128 MiB"},
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
		got, err := SplitMemory(tc.mb, tc.nodes)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("SplitMemory(%d, %d) err %v, want %q", tc.mb, tc.nodes, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("SplitMemory(%d, %d): %v", tc.mb, tc.nodes, err)
			continue
		}
		var base uint64
		var gotMB []uint64
		for i, n := range got {
			if n.Node != i || n.Base != base {
				t.Errorf("SplitMemory(%d, %d) node %d is %+v, want node %d at %#x", tc.mb, tc.nodes, i, n, i, base)
			}
			if i < len(got)-1 && n.Size%(2<<20) != 0 {
				t.Errorf("SplitMemory(%d, %d) node %d ends off a 2 MiB boundary", tc.mb, tc.nodes, i)
			}
			base += n.Size
			gotMB = append(gotMB, n.Size>>20)
		}
		if !slices.Equal(gotMB, tc.wantMB) {
			t.Errorf("SplitMemory(%d, %d) = %v MiB, want %v", tc.mb, tc.nodes, gotMB, tc.wantMB)
		}
	}
}
