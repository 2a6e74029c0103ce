package catalog

import (
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/scheds"
	"github.com/ktstr-go/ktstr/topology"
)

// FIFOTwoLLCs is the demo scenario under the in-repo FIFO scheduler on
// two LLCs of one core each. Two LLCs make it the test that the export
// end-to-end test (tests/export_test.go) runs on a VM with fewer: its .run file
// must refuse a one-LLC host.
var FIFOTwoLLCs = ktstr.Register("fifo_two_llcs", ktstr.Opts{
	Topology:  topology.Must("1n2l1c1t"),
	Scheduler: scheds.FIFO,
	Duration:  2 * time.Second,
}, twoCgroups)
