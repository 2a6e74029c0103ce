package topology

import (
	"fmt"
	"sort"
	"strings"
)

// Preset is a named VM shape for the gauntlet: tests fan out over presets,
// and the preset's name is the shape's part of a case name
// (TestX/smt-2llc/base/6.12.118).
type Preset struct {
	// Name is short, stable and safe in test names, Bazel target names
	// and tags: lower-case letters, digits and '-'.
	Name     string
	Topology Topology
	// Why says what the shape exercises.
	Why string
}

// presets are x86 shapes from 1 to 64 CPUs. Every shape keeps the VMMs'
// rules (LLCs spread evenly over nodes, at most 2 threads per core, one
// LLC per socket). Memory is split evenly over NUMA nodes by both VMMs
// (x86.SplitMemory), so there is no asymmetric-memory preset.
var presets = []Preset{
	{"single", Must("1n1l1c1t"), "one CPU: no load balancing at all, every task shares it"},
	{"pair", Must("1n1l2c1t"), "two cores sharing an LLC: the smallest balancing domain"},
	{"smt-pair", Must("1n1l1c2t"), "one core, two SMT siblings: an SMT domain and nothing else"},
	{"quad", Must("1n1l4c1t"), "four cores in one LLC"},
	{"smt-quad", Must("1n1l2c2t"), "two SMT cores in one LLC"},
	{"2llc", Must("1n2l2c1t"), "two LLCs of two cores: cross-LLC migration decisions"},
	{"2llc-smt", Must("1n2l2c2t"), "two LLCs of two SMT cores"},
	{"3llc", Must("1n3l2c1t"), "an odd number of LLCs"},
	{"4llc", Must("1n4l2c1t"), "four LLCs of two cores"},
	{"8llc", Must("1n8l2c1t"), "many small LLCs (chiplet-like)"},
	{"wide-llc", Must("1n1l16c1t"), "one LLC of sixteen cores: a flat, wide domain"},
	{"numa2", Must("2n2l2c1t"), "two NUMA nodes of one LLC each"},
	{"numa2-4llc", Must("2n4l2c1t"), "two NUMA nodes of two LLCs each"},
	{"numa2-smt", Must("2n4l2c2t"), "two NUMA nodes, two LLCs each, SMT"},
	{"numa4", Must("4n4l2c1t"), "four NUMA nodes of one LLC each"},
	{"numa4-smt", Must("4n8l2c2t"), "four NUMA nodes, 32 CPUs with SMT"},
	{"big", Must("2n8l4c1t"), "32 cores over two nodes"},
	{"max-flat", Must("1n4l16c1t"), "64 CPUs, one node, four wide LLCs"},
	{"max", Must("4n8l4c2t"), "64 CPUs: four nodes, eight LLCs, SMT (NR_CPUS)"},
}

// Presets returns every preset, smallest first (by CPUs, then name).
func Presets() []Preset {
	out := append([]Preset(nil), presets...)
	sort.SliceStable(out, func(i, j int) bool {
		if a, b := out[i].Topology.CPUs(), out[j].Topology.CPUs(); a != b {
			return a < b
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// PresetNames returns the names of every preset, smallest first.
func PresetNames() []string {
	ps := Presets()
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}

// LookupPreset finds a preset by name. A topology in Parse syntax
// (1n2l2c1t or 1,2,2,1) is accepted too, as an unnamed preset named by its
// compact form, so any shape can join a gauntlet.
func LookupPreset(name string) (Preset, error) {
	name = strings.TrimSpace(name)
	for _, p := range presets {
		if p.Name == name {
			return p, nil
		}
	}
	if t, err := Parse(name); err == nil {
		return Preset{Name: t.String(), Topology: t, Why: "ad-hoc shape"}, nil
	}
	return Preset{}, fmt.Errorf("no topology preset %q: use one of %s, or a topology such as 1n2l2c1t", name, strings.Join(PresetNames(), ", "))
}
