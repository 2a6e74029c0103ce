package topology

import (
	"fmt"
	"strings"
)

// Constraints bound the shapes a test or a scheduler can run on: a
// scheduler that needs several LLCs to mean anything, a test of SMT
// siblings, a design that cannot spread past one NUMA node. Zero fields
// do not constrain. A runner checks them against the settled topology
// before it boots anything and skips a run whose shape does not fit,
// naming the mismatch; a gauntlet uses them to pick the shapes worth
// booting.
type Constraints struct {
	MinCPUs, MaxCPUs           int
	MinLLCs, MaxLLCs           int
	MinNUMANodes, MaxNUMANodes int
	// RequireSMT wants at least two threads per core.
	RequireSMT bool
}

// IsZero reports whether c constrains nothing.
func (c Constraints) IsZero() bool { return c == Constraints{} }

// Validate reports a constraint that no topology can meet: a negative
// bound or a minimum above its maximum.
func (c Constraints) Validate() error {
	for _, b := range c.bounds() {
		switch {
		case b.min < 0 || b.max < 0:
			return fmt.Errorf("topology constraints: %s bounds must not be negative (min %d, max %d)", b.what, b.min, b.max)
		case b.max > 0 && b.min > b.max:
			return fmt.Errorf("topology constraints: at least %d %s but at most %d can never hold", b.min, b.what, b.max)
		}
	}
	return nil
}

// Merge returns constraints that hold only where both c and o hold: the
// larger minimum and the smaller (non-zero) maximum of each bound.
func (c Constraints) Merge(o Constraints) Constraints {
	return Constraints{
		MinCPUs: max(c.MinCPUs, o.MinCPUs), MaxCPUs: minBound(c.MaxCPUs, o.MaxCPUs),
		MinLLCs: max(c.MinLLCs, o.MinLLCs), MaxLLCs: minBound(c.MaxLLCs, o.MaxLLCs),
		MinNUMANodes: max(c.MinNUMANodes, o.MinNUMANodes), MaxNUMANodes: minBound(c.MaxNUMANodes, o.MaxNUMANodes),
		RequireSMT: c.RequireSMT || o.RequireSMT,
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

// Mismatch says every way t falls outside c, e.g. "topology 1n1l2c1t has
// 2 CPUs, needs at least 4; needs SMT (2 threads per core), has 1", or ""
// when t fits.
func (c Constraints) Mismatch(t Topology) string {
	have := map[string]int{"CPUs": t.CPUs(), "LLCs": t.LLCs, "NUMA nodes": t.NUMANodes}
	var why []string
	for _, b := range c.bounds() {
		n := have[b.what]
		switch {
		case b.min > 0 && n < b.min:
			why = append(why, fmt.Sprintf("has %d %s, needs at least %d", n, b.what, b.min))
		case b.max > 0 && n > b.max:
			why = append(why, fmt.Sprintf("has %d %s, allows at most %d", n, b.what, b.max))
		}
	}
	if c.RequireSMT && t.ThreadsPerCore < 2 {
		why = append(why, fmt.Sprintf("needs SMT (2 threads per core), has %d", t.ThreadsPerCore))
	}
	if len(why) == 0 {
		return ""
	}
	return fmt.Sprintf("topology %s %s", t, strings.Join(why, "; "))
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
	if c.RequireSMT {
		parts = append(parts, "SMT")
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
