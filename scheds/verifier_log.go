package scheds

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// VerifierStats are the statistics the BPF verifier appends to its log
// (log level with BPF_LOG_STATS).
type VerifierStats struct {
	Insns            int // processed N insns
	InsnLimit        int // (limit N)
	MaxStatesPerInsn int
	TotalStates      int
	PeakStates       int
	MarkRead         int
	Time             time.Duration // verification time
	StackDepth       string        // e.g. "8+24" (main+subprograms)
}

var (
	processedRE = regexp.MustCompile(`^processed (\d+) insns \(limit (\d+)\) max_states_per_insn (\d+) total_states (\d+) peak_states (\d+) mark_read (\d+)`)
	vtimeRE     = regexp.MustCompile(`^verification time (\d+) usec`)
	stackRE     = regexp.MustCompile(`^stack depth (\S+)`)
)

// ParseVerifierStats reads the statistics lines of a verifier log. ok is
// false when the log has no "processed N insns" line (a log level
// without BPF_LOG_STATS, or a load that failed before verification).
func ParseVerifierStats(log string) (st VerifierStats, ok bool) {
	for _, l := range strings.Split(log, "\n") {
		l = strings.TrimSpace(l)
		if m := processedRE.FindStringSubmatch(l); m != nil {
			n := make([]int, 6)
			for i := range n {
				n[i], _ = strconv.Atoi(m[i+1])
			}
			st.Insns, st.InsnLimit, st.MaxStatesPerInsn, st.TotalStates, st.PeakStates, st.MarkRead = n[0], n[1], n[2], n[3], n[4], n[5]
			ok = true
		} else if m := vtimeRE.FindStringSubmatch(l); m != nil {
			us, _ := strconv.Atoi(m[1])
			st.Time = time.Duration(us) * time.Microsecond
		} else if m := stackRE.FindStringSubmatch(l); m != nil {
			st.StackDepth = m[1]
		}
	}
	return st, ok
}

// Line shapes of a verifier log (kernel/bpf/verifier.c, log levels 1-2).
var (
	// "12: (bf) r1 = r6          ; R1_w=ctx() R6=ctx()": an instruction,
	// optionally followed by the registers it changed.
	insnRE = regexp.MustCompile(`^(\d+: \([0-9a-f]{2}\) .*?)(?:\s+; .*)?$`)
	// "12: R1=ctx() R10=fp0" or "12: frame1: R1=...": a state dump.
	stateRE = regexp.MustCompile(`^\d+: (?:frame\d+: )?(?:R\d|fp-|refs=)`)
	// "from 22 to 33: frame1: R0=..." (a branch being explored) or
	// "from 22 to 33: safe".
	fromRE = regexp.MustCompile(`^(from \d+ to \d+:)(.*)$`)
	// Indented state dumps of caller/callee frames and precision
	// back-tracking chatter.
	noiseRE     = regexp.MustCompile(`^(?:\s+frame\d+:|\s+R\d|caller:$|callee:$|returning from callee:$|to caller at \d+:$|mark_precise: |propagating |last_idx |parent |regs=)`)
	statsLineRE = regexp.MustCompile(`^(?:processed \d+ insns|verification time \d+|stack depth )`)
)

// CompactLog is a verifier log reduced to what a reader scans for: the
// instructions walked (without register states), source lines, branch
// points and messages, with repeated cycles collapsed.
type CompactLog struct {
	// Lines is the compact log; a collapsed cycle reads "[×N] {" ... "}"
	// (or "line  [×N]" for a single repeated line).
	Lines []string
	// RawLines is the number of lines in the original log.
	RawLines int
	// Kept is the number of lines left after dropping register states,
	// before collapsing cycles.
	Kept int
}

// CompactVerifierLog normalises a verifier log and collapses repeated
// cycles (loops the verifier walked iteration by iteration show up as the
// same instruction lines over and over, differing only in register
// states, which are dropped here).
func CompactVerifierLog(log string) CompactLog {
	raw := strings.Split(strings.TrimRight(log, "\n"), "\n")
	var kept []string
	for _, l := range raw {
		if n, ok := normalizeLine(l); ok {
			kept = append(kept, n)
		}
	}
	return CompactLog{Lines: CollapseCycles(kept), RawLines: len(raw), Kept: len(kept)}
}

// normalizeLine strips register states from a log line, and reports false
// for lines that carry nothing else.
func normalizeLine(l string) (string, bool) {
	l = strings.TrimRight(l, " \t")
	switch {
	case strings.TrimSpace(l) == "", statsLineRE.MatchString(l), noiseRE.MatchString(l), stateRE.MatchString(l):
		return "", false
	}
	if m := insnRE.FindStringSubmatch(l); m != nil {
		return strings.TrimRight(m[1], " "), true
	}
	if m := fromRE.FindStringSubmatch(l); m != nil {
		if strings.TrimSpace(m[2]) == "safe" {
			return l, true
		}
		return m[1], true
	}
	return l, true
}

// maxPeriod bounds the length of a cycle CollapseCycles looks for.
const maxPeriod = 512

// node is a line, or a block of nodes repeated n times.
type node struct {
	id    int
	text  string
	n     int
	block []node
}

// CollapseCycles replaces every run of N >= 2 identical consecutive blocks
// of lines by one copy marked [×N]. At each position it takes the block
// length that covers most lines (the shortest on a tie), collapses inside
// the kept copy too, and repeats over the result until nothing changes,
// so nested loops collapse at every level.
func CollapseCycles(lines []string) []string {
	in := &interner{ids: map[string]int{}}
	nodes := make([]node, len(lines))
	for i, l := range lines {
		nodes[i] = node{id: in.id("L" + l), text: l}
	}
	for {
		next, changed := collapseOnce(nodes, in)
		nodes = next
		if !changed {
			break
		}
	}
	var out []string
	render(nodes, "", &out)
	return out
}

type interner struct{ ids map[string]int }

func (in *interner) id(key string) int {
	if id, ok := in.ids[key]; ok {
		return id
	}
	id := len(in.ids) + 1
	in.ids[key] = id
	return id
}

func collapseOnce(nodes []node, in *interner) ([]node, bool) {
	var out []node
	changed := false
	for i := 0; i < len(nodes); {
		bestK, bestReps := 0, 1
		for k := 1; k <= maxPeriod && i+2*k <= len(nodes); k++ {
			if nodes[i+k].id != nodes[i].id {
				continue
			}
			reps := 1
			for i+(reps+1)*k <= len(nodes) && sameIDs(nodes[i:i+k], nodes[i+reps*k:i+(reps+1)*k]) {
				reps++
			}
			if reps >= 2 && reps*k > bestReps*bestK {
				bestK, bestReps = k, reps
			}
		}
		if bestK == 0 {
			out = append(out, nodes[i])
			i++
			continue
		}
		changed = true
		body := append([]node(nil), nodes[i:i+bestK]...)
		for {
			b, c := collapseOnce(body, in)
			body = b
			if !c {
				break
			}
		}
		var key strings.Builder
		fmt.Fprintf(&key, "B%d:", bestReps)
		for _, b := range body {
			fmt.Fprintf(&key, "%d,", b.id)
		}
		out = append(out, node{id: in.id(key.String()), n: bestReps, block: body})
		i += bestK * bestReps
	}
	return out, changed
}

func sameIDs(a, b []node) bool {
	for i := range a {
		if a[i].id != b[i].id {
			return false
		}
	}
	return true
}

func render(nodes []node, indent string, out *[]string) {
	for _, n := range nodes {
		switch {
		case n.block == nil:
			*out = append(*out, indent+n.text)
		case len(n.block) == 1 && n.block[0].block == nil:
			*out = append(*out, fmt.Sprintf("%s%s  [×%d]", indent, n.block[0].text, n.n))
		default:
			*out = append(*out, fmt.Sprintf("%s[×%d] {", indent, n.n))
			render(n.block, indent+"  ", out)
			*out = append(*out, indent+"}")
		}
	}
}
