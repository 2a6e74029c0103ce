package scenario

import (
	"slices"
	"testing"
)

func TestLog2Hist(t *testing.T) {
	tests := []struct {
		in   []int64
		want []uint64
	}{
		{nil, nil},
		{[]int64{0, 1, -5}, []uint64{3}},
		{[]int64{2, 3}, []uint64{0, 2}},
		{[]int64{1000, 1023, 1024}, []uint64{0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 1}},
	}
	for _, tc := range tests {
		if got := Log2Hist(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("Log2Hist(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
