package scenario

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/verdict"
)

// minWakeEvidence is the least expected wake-up count worth judging a
// shortfall on: below it a few missing wake-ups are noise.
const minWakeEvidence = 10

// expectedWakes is how many wake-latency samples r's work should have
// recorded over r.Wall had it run unimpeded, with the reason ("its 20ms
// burn / 30ms sleep cycle"); timed is false for work that times no
// wake-ups.
func expectedWakes(r *WorkerReport) (n float64, why string, timed bool) {
	w := r.Spec
	if w.Type == "" {
		w.Type = r.Type
	}
	impl, ok := lookupWork(w.Type)
	if !ok || impl.wakes == nil {
		return 0, "", false
	}
	rate, why := impl.wakes(w.withDefaults())
	if rate <= 0 {
		return 0, "", false
	}
	return rate * evidenceWindow(r).Seconds(), why, true
}

// evidenceWindow is the time r's worker had to produce evidence: from the
// start signal to the stop request as the collector timed them. The
// worker's own Wall starts and ends when its main thread next ran, which
// for a starved worker is long after both.
func evidenceWindow(r *WorkerReport) time.Duration {
	if r.Outside != nil && r.Outside.Wall > 0 {
		return r.Outside.Wall
	}
	return r.Wall
}

// starvedShare is the CPU share below which a worker that did nothing
// counts as starved rather than stuck.
const starvedShare = 0.05

// starvation returns what the collector saw of r when r looks starved
// (it sent no report, or got almost no CPU), else nil.
func starvation(r *WorkerReport) *OutsideView {
	v := r.Outside
	if v == nil || v.Wall <= 0 {
		return nil
	}
	if r.FromOutside || float64(v.CPUTime) < starvedShare*float64(v.Wall) {
		return v
	}
	return nil
}

// checkPlacement judges where the pages of a worker with a memory
// policy landed.
func (a Assert) checkPlacement(r *WorkerReport) Detail {
	p := r.MemPolicy
	var total uint64
	for _, c := range r.PageNodes {
		total += c
	}
	switch {
	case p.Flags&MpolRelativeNodes != 0:
		return detail("numa_placement", verdict.Skip, r, "policy %s names nodes relative to cpuset.mems: placement not judged", p)
	case total == 0:
		return detail("numa_placement", verdict.Inconclusive, r, "worker %s has memory policy %s but no resident pages to locate", r.Name(), p)
	case p.Mode == MemInterleave:
		fair := float64(total) / float64(len(p.Nodes))
		for _, n := range p.Nodes {
			if float64(r.PageNodes[n]) < fair/2 {
				return detail("numa_placement", verdict.Fail, r, "worker %s: interleave over %v left node %d %d of %d pages (even share %.0f); pages per node %s",
					r.Name(), p.Nodes, n, r.PageNodes[n], total, fair, formatNodes(r.PageNodes))
			}
		}
		return detail("numa_placement", verdict.Pass, r, "pages per node %s", formatNodes(r.PageNodes))
	}
	outside, where := nodesOutside(r.PageNodes, p.Nodes)
	on := float64(total-outside) / float64(total)
	if on < a.MinOnPolicyNodes {
		return detail("numa_placement", verdict.Fail, r, "worker %s: %d of %d pages on node(s) %v outside its memory policy %s (%.0f%% on policy nodes, bound %.0f%%)",
			r.Name(), outside, total, where, p, 100*on, 100*a.MinOnPolicyNodes)
	}
	return detail("numa_placement", verdict.Pass, r, "%.0f%% of %d pages on policy nodes; pages per node %s", 100*on, total, formatNodes(r.PageNodes))
}

// formatNodes is "node0=12 node1=500".
func formatNodes(m map[int]uint64) string {
	nodes := make([]int, 0, len(m))
	for n := range m {
		nodes = append(nodes, n)
	}
	slices.Sort(nodes)
	parts := make([]string, len(nodes))
	for i, n := range nodes {
		parts[i] = fmt.Sprintf("node%d=%d", n, m[n])
	}
	return strings.Join(parts, " ")
}
