// Package layering states which of ktstr-go's packages may depend on
// which (../shared/DESIGN.md, "Packages") and checks an import graph
// against that. Its test runs the check over this module's real graph
// (`go list -deps`), so CI fails on a violation.
package layering

import (
	"fmt"
	"sort"
	"strings"
)

// Module is ktstr-go's module path.
const Module = "github.com/ktstr-go/ktstr"

// Rule forbids packages matching From to depend, directly or not, on
// packages matching any of Forbid. Patterns are module-relative: "." is
// the root package, "x" is package x, "x/..." is x and everything below
// it, "..." is every package of the module.
type Rule struct {
	Why    string
	From   []string
	Forbid []string
	// Except lists packages matching Forbid that are allowed anyway.
	Except []string
}

// Rules are the layering of DESIGN.md.
var Rules = []Rule{
	{Why: "product code never imports tests/", From: []string{"..."}, Forbid: []string{"tests/..."}},
	{Why: "the in-guest test API (scenario) never imports the VMM, KVM or kernel supply",
		From: []string{"scenario/..."}, Forbid: []string{"vmm/...", "kvm/...", "kernel/..."}},
	{Why: "guest code runs inside the VM: no VMM, KVM, kernel supply or host monitor",
		From: []string{"guest/..."}, Forbid: []string{"vmm/...", "kvm/...", "kernel/...", "monitor/...", "scenario/...", "scheds/..."}},
	{Why: "kvm is the thin /dev/kvm wrapper: it imports nothing of ours",
		From: []string{"kvm"}, Forbid: []string{"..."}},
	{Why: "monitor takes guest memory as an io.ReaderAt and the VMM's abilities as funcs: it imports nothing of ours",
		From: []string{"monitor"}, Forbid: []string{"..."}},
	{Why: "topology and verdict are leaves everything may import",
		From: []string{"topology", "verdict"}, Forbid: []string{"..."}},
	{Why: "internal helpers depend on nothing of ours but each other",
		From: []string{"internal/..."}, Forbid: []string{"..."}, Except: []string{"internal/..."}},
	{Why: "kernel supply serves every VMM backend, QEMU too: it knows no VMM (it checks the boot-protocol magic itself)",
		From: []string{"kernel/..."}, Forbid: []string{"vmm/...", "kvm/..."}},
	{Why: "the vmm contract and the x86 builders know no backend",
		From: []string{"vmm", "vmm/x86"}, Forbid: []string{"vmm/qemu/...", "vmm/native/..."}},
	{Why: "the VMM layer knows nothing of tests, schedulers or the runner above it",
		From: []string{"vmm/...", "kvm/..."}, Forbid: []string{".", "scenario/...", "scheds/...", "guest/...", "tools/..."}},
	{Why: "probe runs inside the VM beside the test body (and its results are read on the host): no VMM, KVM, kernel supply, host monitor, scenario, schedulers or runner",
		From: []string{"probe/..."}, Forbid: []string{".", "vmm/...", "kvm/...", "kernel/...", "monitor/...", "scenario/...", "scheds/...", "results/...", "timeline/..."}},
	{Why: "timeline merges what a finished run recorded (guest records, monitor samples, probe results): no runner, VMM, kernel supply, scenario or schedulers",
		From: []string{"timeline/..."}, Forbid: []string{".", "vmm/...", "kvm/...", "kernel/...", "scenario/...", "scheds/...", "results/..."}},
	{Why: "results describes finished runs from records, samples and strings: no runner, VMM, kernel supply or schedulers",
		From: []string{"results/..."}, Forbid: []string{".", "vmm/...", "kvm/...", "kernel/...", "scheds/..."}},
	{Why: "the gauntlet fans tests out on top of the runner: the runner, the kernel supply and the scheduler definitions never import it",
		From: []string{".", "kernel/...", "scheds/...", "scenario/...", "vmm/...", "guest/..."}, Forbid: []string{"gauntlet/..."}},
	{Why: "commands are the top: no product package imports tools/",
		From: []string{"..."}, Forbid: []string{"tools/..."}, Except: []string{"tools/..."}},
}

// Violation is one forbidden dependency.
type Violation struct {
	Rule *Rule
	From string // module-relative package
	Dep  string // module-relative package it depends on
}

func (v Violation) String() string {
	return fmt.Sprintf("%s depends on %s: %s", show(v.From), show(v.Dep), v.Rule.Why)
}

func show(rel string) string {
	if rel == "." {
		return Module
	}
	return rel
}

// Check returns every violation of rules in deps, which maps each of the
// module's packages (full import path) to everything it depends on
// (transitively, as `go list -deps` reports). Packages outside the
// module are ignored; the result is sorted.
func Check(rules []Rule, deps map[string][]string) []Violation {
	var out []Violation
	for pkg, ds := range deps {
		from, ok := rel(pkg)
		if !ok {
			continue
		}
		for i := range rules {
			r := &rules[i]
			if !matchAny(r.From, from) {
				continue
			}
			for _, d := range ds {
				dep, ok := rel(d)
				if ok && dep != from && matchAny(r.Forbid, dep) && !matchAny(r.Except, dep) {
					out = append(out, Violation{Rule: r, From: from, Dep: dep})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// rel turns an import path of the module into its module-relative form.
func rel(pkg string) (string, bool) {
	if pkg == Module {
		return ".", true
	}
	r, ok := strings.CutPrefix(pkg, Module+"/")
	return r, ok
}

func matchAny(patterns []string, pkg string) bool {
	for _, p := range patterns {
		if match(p, pkg) {
			return true
		}
	}
	return false
}

func match(pattern, pkg string) bool {
	switch {
	case pattern == "...":
		return true
	case strings.HasSuffix(pattern, "/..."):
		base := strings.TrimSuffix(pattern, "/...")
		return pkg == base || strings.HasPrefix(pkg, base+"/")
	}
	return pattern == pkg
}
