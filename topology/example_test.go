package topology_test

import (
	"fmt"

	"github.com/ktstr-go/ktstr/topology"
)

// A scheduler that needs two LLCs and SMT, run on a shape without either:
// the runner skips the run with this message.
func ExampleConstraints_Check() {
	c := topology.Constraints{MinLLCs: 2, SMT: true}
	fmt.Println(c.Check(topology.Must("1n1l4c1t")))
	fmt.Println(c.Check(topology.Must("1n2l2c2t")))
	// Output:
	// topology 1n1l4c1t does not meet the test's constraints: 1 LLCs, needs at least 2; no SMT, needs SMT
	// <nil>
}
