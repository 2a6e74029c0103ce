package tests

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/topology"
)

// TestGuestBoots proves the whole loop: the VM boots this binary as init,
// the body runs in the guest, and the verdict comes back.
func TestGuestBoots(t *testing.T) {
	ktstr.Run(t, ktstr.Opts{Topology: topology.Must("1n1l2c1t")}, func(ctx *scenario.Ctx) error {
		b, err := os.ReadFile("/sys/devices/system/cpu/online")
		if err != nil {
			return err
		}
		if got := strings.TrimSpace(string(b)); got != "0-1" {
			return fmt.Errorf("online CPUs %q, want 0-1", got)
		}
		return nil
	})
}
