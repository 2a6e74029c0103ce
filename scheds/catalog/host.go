package catalog

import (
	"fmt"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/scenario"
)

// HostTopology runs on the host, without a VM (HostOnly): `ktstr run
// --test host_topology` and ktstr.RunRegistered run its body here, as a
// test that orchestrates builds or VMs itself would run. It checks that
// the host's topology reads back whole.
var HostTopology = ktstr.Register("host_topology", ktstr.Opts{HostOnly: true}, func(ctx *scenario.Ctx) error {
	if ctx.Topo.NumCPUs() == 0 || ctx.Topo.NumLLCs() == 0 {
		return fmt.Errorf("the host's sysfs shows %d CPUs in %d LLCs", ctx.Topo.NumCPUs(), ctx.Topo.NumLLCs())
	}
	return nil
})
