package scenario

import "math/bits"

// Log2Hist counts ns values in log2 buckets: bucket i holds values in
// [2^i, 2^(i+1)), bucket 0 also 0 and 1 (and negative values). The slice
// ends at the highest non-empty bucket; nil for no values.
func Log2Hist(ns []int64) []uint64 {
	var h []uint64
	for _, v := range ns {
		b := 0
		if v > 1 {
			b = bits.Len64(uint64(v)) - 1
		}
		if b >= len(h) {
			h = append(h, make([]uint64, b+1-len(h))...)
		}
		h[b]++
	}
	return h
}
