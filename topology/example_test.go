package topology_test

import (
	"fmt"

	"github.com/ktstr-go/ktstr/topology"
)

// A scheduler that needs two LLCs and SMT, run on a shape without either:
// the runner skips the run with this message.
func ExampleConstraints_Mismatch() {
	c := topology.Constraints{MinLLCs: 2, RequireSMT: true}
	fmt.Println(c.Mismatch(topology.Must("1n1l4c1t")))
	fmt.Println(c.Mismatch(topology.Must("1n2l2c2t")) == "")
	// Output:
	// topology 1n1l4c1t has 1 LLCs, needs at least 2; needs SMT (2 threads per core), has 1
	// true
}
