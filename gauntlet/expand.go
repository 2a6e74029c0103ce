package gauntlet

import (
	"fmt"
	"strings"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/scheds"
	"github.com/ktstr-go/ktstr/topology"
)

// Selection is what to expand. Empty Presets means every preset; empty
// Flags means every valid flag combination of each test's scheduler.
type Selection struct {
	Tests   []*ktstr.Test
	Presets []topology.Preset
	// Flags keeps only the flag combinations named here (FlagsName
	// form: "base", "a+b").
	Flags   []string
	Kernels []Kernel
}

// Exclusion is a test × preset (or flag combination) the expansion left
// out, and why.
type Exclusion struct {
	Test string
	What string
	Why  string
}

// Expand lists every variant of sel, test by test, then preset (smallest
// first), flag combination (Variants order) and kernel. A preset that does
// not meet a test's constraints is left out (with the reason in the
// exclusions); a sched_ext test on a kernel without sched_ext stays in,
// marked Skip with the reason. It errors on a scheduler whose flags cannot
// be expanded and on a Flags filter that names no combination of any test.
func Expand(sel Selection) ([]Variant, []Exclusion, error) {
	presets := sel.Presets
	if len(presets) == 0 {
		presets = topology.Presets()
	}
	if len(sel.Kernels) == 0 {
		return nil, nil, fmt.Errorf("no kernels to expand over: resolve them with ResolveKernels")
	}
	keepFlags := map[string]bool{}
	for _, f := range sel.Flags {
		keepFlags[f] = true
	}
	matchedFlags := map[string]bool{}
	var out []Variant
	var excl []Exclusion
	for _, t := range sel.Tests {
		combos, err := t.Scheduler.Variants()
		if err != nil {
			return nil, nil, fmt.Errorf("test %s: %w", t.Name, err)
		}
		for _, p := range presets {
			if err := t.Constraints.Check(p.Topology); err != nil {
				excl = append(excl, Exclusion{Test: t.Name, What: "preset " + p.Name, Why: err.Error()})
				continue
			}
			for _, flags := range combos {
				name := scheds.VariantName(flags)
				if len(keepFlags) > 0 && !keepFlags[name] {
					continue
				}
				matchedFlags[name] = true
				for _, k := range sel.Kernels {
					v := Variant{Test: t, Preset: p, Flags: flags, Kernel: k}
					if t.Scheduler != nil {
						if ok, why := k.SchedExt(); !ok {
							v.Skip = why
						}
					}
					out = append(out, v)
				}
			}
		}
	}
	var unknown []string
	for f := range keepFlags {
		if !matchedFlags[f] {
			unknown = append(unknown, f)
		}
	}
	if len(unknown) > 0 {
		return nil, nil, fmt.Errorf("flag combination(s) %s match no test's scheduler variants: name them as \"base\" or flags joined by '+' in declaration order (`ktstr gauntlet --list` shows them)", strings.Join(unknown, ", "))
	}
	return out, excl, nil
}

// SelectTests finds registered tests by name (every non-host-only test
// when names is empty), erroring on an unknown name.
func SelectTests(names []string) ([]*ktstr.Test, error) {
	if len(names) == 0 {
		var out []*ktstr.Test
		for _, t := range ktstr.Registered() {
			if !t.HostOnly {
				out = append(out, t)
			}
		}
		return out, nil
	}
	var out []*ktstr.Test
	for _, n := range names {
		t, ok := ktstr.Lookup(n)
		if !ok {
			var have []string
			for _, r := range ktstr.Registered() {
				have = append(have, r.Name)
			}
			return nil, fmt.Errorf("no registered test %q (registered: %s)", n, strings.Join(have, ", "))
		}
		if t.HostOnly {
			return nil, fmt.Errorf("test %s is host-only: it boots no VM, so it has no gauntlet", n)
		}
		out = append(out, t)
	}
	return out, nil
}

// SelectPresets looks up preset names (comma-separated lists allowed);
// empty means every preset.
func SelectPresets(names []string) ([]topology.Preset, error) {
	var out []topology.Preset
	seen := map[string]bool{}
	for _, n := range names {
		for _, f := range strings.Split(n, ",") {
			if f = strings.TrimSpace(f); f == "" {
				continue
			}
			p, err := topology.LookupPreset(f)
			if err != nil {
				return nil, err
			}
			if !seen[p.Name] {
				seen[p.Name] = true
				out = append(out, p)
			}
		}
	}
	return out, nil
}
