package topology

import (
	"fmt"
	"strings"
)

// Constraints are what a test needs of its VM's shape: the gauntlet runs
// it only on presets that meet them. Zero fields do not constrain.
//
// This is the minimal form the gauntlet needs (issue 22); the scheduler
// configuration work (issue 21) checks the same constraints before boot.
type Constraints struct {
	MinCPUs, MaxCPUs           int
	MinLLCs, MaxLLCs           int
	MinNUMANodes, MaxNUMANodes int
	// SMT requires two threads per core; NoSMT forbids them.
	SMT, NoSMT bool
}

// Check returns nil when t meets c, else an error naming every mismatch.
func (c Constraints) Check(t Topology) error {
	var why []string
	bound := func(what string, have, min, max int) {
		if min > 0 && have < min {
			why = append(why, fmt.Sprintf("%d %s, needs at least %d", have, what, min))
		}
		if max > 0 && have > max {
			why = append(why, fmt.Sprintf("%d %s, allows at most %d", have, what, max))
		}
	}
	bound("CPUs", t.CPUs(), c.MinCPUs, c.MaxCPUs)
	bound("LLCs", t.LLCs, c.MinLLCs, c.MaxLLCs)
	bound("NUMA nodes", t.NUMANodes, c.MinNUMANodes, c.MaxNUMANodes)
	if c.SMT && t.ThreadsPerCore < 2 {
		why = append(why, "no SMT, needs SMT")
	}
	if c.NoSMT && t.ThreadsPerCore > 1 {
		why = append(why, "has SMT, needs none")
	}
	if len(why) == 0 {
		return nil
	}
	return fmt.Errorf("topology %s does not meet the test's constraints: %s", t, strings.Join(why, "; "))
}

// IsZero reports whether c constrains nothing.
func (c Constraints) IsZero() bool { return c == Constraints{} }
