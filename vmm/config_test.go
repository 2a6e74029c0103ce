package vmm

import (
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/topology"
)

func TestConfigCheck(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // "" for no error
	}{
		{"bootable", Config{Kernel: "/k", Topology: topology.Must("2n2l2c1t")}, ""},
		{"no kernel", Config{Topology: topology.Must("1n1l1c1t")}, "Kernel is empty"},
		{"zero topology", Config{Kernel: "/k"}, "at least 1"},
		{"uneven LLCs", Config{Kernel: "/k", Topology: topology.Topology{NUMANodes: 2, LLCs: 3, CoresPerLLC: 1, ThreadsPerCore: 1}}, "spread evenly"},
		// The shape is checked first: it is the likelier mistake.
		{"both", Config{}, "at least 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Check()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check err %v, want %q", err, tc.want)
			}
		})
	}
}

func TestConfigGuestMemoryMB(t *testing.T) {
	for mb, want := range map[int]int{0: DefaultMemoryMB, 256: 256, -1: -1} {
		if got := (Config{MemoryMB: mb}).GuestMemoryMB(); got != want {
			t.Errorf("GuestMemoryMB with MemoryMB %d = %d, want %d", mb, got, want)
		}
	}
}
