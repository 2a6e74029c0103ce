package topology

import (
	"fmt"
	"strings"
)

// Constraints are what a test (or a scheduler) needs of its VM's shape:
// the gauntlet runs it only on presets that meet them, and a runner
// checks the settled topology against them before it boots anything,
// skipping a run whose shape does not fit with the mismatch named. Zero
// fields do not constrain.
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
	have := map[string]int{"CPUs": t.CPUs(), "LLCs": t.LLCs, "NUMA nodes": t.NUMANodes}
	for _, b := range c.bounds() {
		n := have[b.what]
		if b.min > 0 && n < b.min {
			why = append(why, fmt.Sprintf("%d %s, needs at least %d", n, b.what, b.min))
		}
		if b.max > 0 && n > b.max {
			why = append(why, fmt.Sprintf("%d %s, allows at most %d", n, b.what, b.max))
		}
	}
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

// Validate reports constraints that no topology can meet: a negative
// bound, a minimum above its maximum, SMT both required and forbidden.
func (c Constraints) Validate() error {
	for _, b := range c.bounds() {
		switch {
		case b.min < 0 || b.max < 0:
			return fmt.Errorf("topology constraints: %s bounds must not be negative (min %d, max %d)", b.what, b.min, b.max)
		case b.max > 0 && b.min > b.max:
			return fmt.Errorf("topology constraints: at least %d %s but at most %d can never hold", b.min, b.what, b.max)
		}
	}
	if c.SMT && c.NoSMT {
		return fmt.Errorf("topology constraints: SMT both required and forbidden can never hold")
	}
	return nil
}

// Merge returns constraints that hold only where both c and o hold: the
// larger minimum and the smaller (non-zero) maximum of each bound, either
// SMT requirement. A test's and its scheduler's constraints merge so.
func (c Constraints) Merge(o Constraints) Constraints {
	return Constraints{
		MinCPUs: max(c.MinCPUs, o.MinCPUs), MaxCPUs: minBound(c.MaxCPUs, o.MaxCPUs),
		MinLLCs: max(c.MinLLCs, o.MinLLCs), MaxLLCs: minBound(c.MaxLLCs, o.MaxLLCs),
		MinNUMANodes: max(c.MinNUMANodes, o.MinNUMANodes), MaxNUMANodes: minBound(c.MaxNUMANodes, o.MaxNUMANodes),
		SMT: c.SMT || o.SMT, NoSMT: c.NoSMT || o.NoSMT,
	}
}

// minBound is the smaller of two maximums, where zero means none.
func minBound(a, b int) int {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return min(a, b)
}

// String lists the bounds set, e.g. "CPUs>=4 LLCs<=2 SMT", or "none".
func (c Constraints) String() string {
	var parts []string
	for _, b := range c.bounds() {
		if b.min > 0 {
			parts = append(parts, fmt.Sprintf("%s>=%d", b.what, b.min))
		}
		if b.max > 0 {
			parts = append(parts, fmt.Sprintf("%s<=%d", b.what, b.max))
		}
	}
	if c.SMT {
		parts = append(parts, "SMT")
	}
	if c.NoSMT {
		parts = append(parts, "no SMT")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

type bound struct {
	what     string
	min, max int
}

func (c Constraints) bounds() []bound {
	return []bound{
		{"CPUs", c.MinCPUs, c.MaxCPUs},
		{"LLCs", c.MinLLCs, c.MaxLLCs},
		{"NUMA nodes", c.MinNUMANodes, c.MaxNUMANodes},
	}
}
