package gauntlet

import (
	"sort"
	"time"
)

// Plan is the variants a run will boot and those a budget left out.
type Plan struct {
	Run  []Variant
	Left []Variant
	// Uncovered are the dimension values ("preset:max") no chosen
	// variant covers: the budget was too small for them.
	Uncovered []string
	// Estimate is the expected wall time of Run at the parallelism.
	Estimate time.Duration
	// Measured is how many of Run's estimates came from earlier runs.
	Measured int
}

// Select picks the variants to run within budget wall time at the given
// parallelism, using est for each variant's wall time (Durations.Estimate).
// Greedy, cheapest coverage first:
//
//  1. every value of every dimension (test, preset, flag combination,
//     kernel) at least once, preferring variants that cover most new
//     values per second;
//  2. then every pair of values (preset × kernel, flags × preset, ...);
//  3. then the rest, cheapest first, while time remains.
//
// Variants that skip cost nothing and are always kept (they print their
// reason). A zero or negative budget keeps everything. Run keeps the
// expansion order.
func Select(vs []Variant, budget time.Duration, parallel int, est func(Variant) (time.Duration, bool)) Plan {
	if parallel < 1 {
		parallel = 1
	}
	cost := make([]time.Duration, len(vs))
	measured := make([]bool, len(vs))
	for i, v := range vs {
		cost[i], measured[i] = est(v)
	}
	chosen := make([]bool, len(vs))
	if budget <= 0 {
		for i := range chosen {
			chosen[i] = true
		}
		return planOf(vs, chosen, cost, measured, parallel, nil)
	}
	remaining := budget * time.Duration(parallel)
	singles, pairs := map[string]bool{}, map[string]bool{}
	// used counts how often each value was chosen: among equal gains the
	// variant of the least used values wins, which spreads the picks
	// (tie-breaking by position alone piles them on the first preset).
	used := map[string]int{}
	usage := func(i int) int {
		n := 0
		for _, d := range vs[i].dims() {
			n += used[d]
		}
		return n
	}
	take := func(i int) {
		chosen[i] = true
		remaining -= cost[i]
		d := vs[i].dims()
		for a := range d {
			used[d[a]]++
			singles[d[a]] = true
			for b := a + 1; b < len(d); b++ {
				pairs[d[a]+"|"+d[b]] = true
			}
		}
	}
	for i, v := range vs {
		if v.Skip != "" {
			chosen[i] = true
		}
	}
	newSingles := func(i int) int {
		n := 0
		for _, d := range vs[i].dims() {
			if !singles[d] {
				n++
			}
		}
		return n
	}
	newPairs := func(i int) int {
		d, n := vs[i].dims(), 0
		for a := range d {
			for b := a + 1; b < len(d); b++ {
				if !pairs[d[a]+"|"+d[b]] {
					n++
				}
			}
		}
		return n
	}
	rest := func(int) int { return 1 }
	for _, gain := range []func(int) int{newSingles, newPairs, rest} {
		for {
			best, bestScore := -1, 0.0
			for i := range vs {
				if chosen[i] || cost[i] > remaining {
					continue
				}
				g := gain(i)
				if g == 0 {
					continue
				}
				score := float64(g) / max(cost[i].Seconds(), 1)
				if score > bestScore || best >= 0 && score == bestScore && usage(i) < usage(best) {
					best, bestScore = i, score
				}
			}
			if best < 0 {
				break
			}
			take(best)
		}
	}
	var uncovered []string
	all := map[string]bool{}
	for _, v := range vs {
		if v.Skip != "" {
			continue // covers nothing: nothing runs
		}
		for _, d := range v.dims() {
			all[d] = true
		}
	}
	for d := range all {
		if !singles[d] {
			uncovered = append(uncovered, d)
		}
	}
	sort.Strings(uncovered)
	return planOf(vs, chosen, cost, measured, parallel, uncovered)
}

func planOf(vs []Variant, chosen []bool, cost []time.Duration, measured []bool, parallel int, uncovered []string) Plan {
	p := Plan{Uncovered: uncovered}
	var total time.Duration
	for i, v := range vs {
		if !chosen[i] {
			p.Left = append(p.Left, v)
			continue
		}
		p.Run = append(p.Run, v)
		total += cost[i]
		if measured[i] && v.Skip == "" {
			p.Measured++
		}
	}
	p.Estimate = total / time.Duration(parallel)
	return p
}
