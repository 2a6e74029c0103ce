package topology

import "testing"

func TestNodeDistance(t *testing.T) {
	tests := []struct{ a, b, want int }{
		{0, 0, 10},
		{3, 3, 10},
		{0, 1, 20},
		{1, 0, 20},
		{0, 3, 20},
	}
	for _, tc := range tests {
		if got := NodeDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("NodeDistance(%d, %d) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
