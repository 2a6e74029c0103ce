package vmm

import (
	"strings"
	"testing"
)

func TestConsoleTailRemembersAScrolledOutPanic(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   bool
	}{
		{"panic scrolled out", []string{"Kernel panic - not syncing: Fatal exception\r\n", "line\n", "line\n", "line\n", "line\n"}, true},
		{"panic in overflowing output", []string{"Kernel panic - not syncing: VFS" + strings.Repeat("x", 5000), "ok\n"}, true},
		{"no panic", []string{"Kernel says hi\n", "reboot: Power down\n"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewConsoleTail(1)
			for _, w := range tc.writes {
				c.Write([]byte(w))
			}
			if got := c.Panicked(); got != tc.want {
				t.Errorf("Panicked() = %v, want %v (tail %q)", got, tc.want, c.String())
			}
		})
	}
}
