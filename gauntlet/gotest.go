package gauntlet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/kernel"
	"github.com/ktstr-go/ktstr/verdict"
)

// Options are what a go test declares of its gauntlet. The environment
// beats them, as it beats a test's Opts (overrides.go), so one test binary
// serves every selection: KTSTR_PRESETS, KTSTR_BUDGET, KTSTR_PARALLELISM,
// KTSTR_KERNEL_LIST or KTSTR_KERNEL; unset everywhere means every preset,
// no budget, the default parallelism and the default kernel.
type Options struct {
	// Tests are the registered tests RunRegistered fans out (empty: all).
	Tests []string
	// Presets are preset names or topologies.
	Presets []string
	// Flags keeps only these flag combinations ("base", "a+b").
	Flags []string
	// Kernels are kernel specs as --kernel takes them.
	Kernels []string
	// Budget bounds the run's wall time.
	Budget time.Duration
	// Parallel is how many VMs run at once.
	Parallel int
}

// Environment of the go test runners.
const (
	EnvPresets = "KTSTR_PRESETS" // preset names, comma-separated
	EnvBudget  = "KTSTR_BUDGET"  // e.g. 10m
	// EnvExpect is the case a Bazel gauntlet target runs (its path below
	// the top-level test): the test fails if it does not expand to it,
	// so a stale variant list cannot pass by running nothing.
	EnvExpect = "KTSTR_GAUNTLET_EXPECT"
)

// Run fans one test out as subtests t/PRESET/FLAGS/KERNEL, e.g.
// TestX/smt-pair/base/6.12.118; select with -run 'TestX/smt-pair//6.1'.
// Variants that cannot run skip with the reason; variants a budget left
// out skip saying so. A failing variant fails only its own subtest. In
// the guest it runs the one case the VM was booted for.
//
// test.Name names the test in measured durations; empty means t.Name().
func Run(t *testing.T, test *ktstr.Test, o Options) {
	t.Helper()
	if test.Name == "" {
		cp := *test
		cp.Name = t.Name()
		test = &cp
	}
	if guest.IsChild() {
		guestCase(t, 3, func(t *testing.T, _ []string) {
			ktstr.RunResultWith(t, test.Opts, ktstr.RunOptions{}, test.Body)
		})
		return
	}
	runHost(t, []*ktstr.Test{test}, o, false)
}

// RunRegistered fans registered tests out as subtests
// t/TEST/PRESET/FLAGS/KERNEL (Options.Tests, else every registered test
// that boots a VM).
func RunRegistered(t *testing.T, o Options) {
	t.Helper()
	if guest.IsChild() {
		guestCase(t, 4, func(t *testing.T, parts []string) {
			rt, ok := ktstr.Lookup(parts[0])
			if !ok {
				t.Fatalf("gauntlet: test %q is not registered in this binary", parts[0])
			}
			ktstr.RunResultWith(t, rt.Opts, ktstr.RunOptions{}, rt.Body)
		})
		return
	}
	tests, err := SelectTests(o.Tests)
	if err != nil {
		t.Fatalf("gauntlet: %v", err)
	}
	runHost(t, tests, o, true)
}

// guestCase recreates, in the guest, the one chain of subtests the VM was
// booted for (its name is in the boot parameters): the host's expansion
// needs the kernel cache and the environment, which the guest has not.
func guestCase(t *testing.T, levels int, leaf func(*testing.T, []string)) {
	p, err := guest.ReadBootParams()
	if err != nil {
		t.Fatalf("gauntlet: %v", err)
	}
	rest, ok := strings.CutPrefix(p.Test, t.Name()+"/")
	if !ok {
		return // the VM runs another test
	}
	parts := strings.Split(rest, "/")
	if len(parts) != levels {
		t.Fatalf("gauntlet: case %q has %d levels below %s, want %d", p.Test, len(parts), t.Name(), levels)
	}
	var chain func(t *testing.T, i int)
	chain = func(t *testing.T, i int) {
		if i == len(parts) {
			leaf(t, parts)
			return
		}
		t.Run(parts[i], func(t *testing.T) { chain(t, i+1) })
	}
	chain(t, 0)
}

// prepared is what one go test gauntlet runs.
type prepared struct {
	// runLeaf runs one case (leaf; tests replace it).
	runLeaf   func(*testing.T, Variant)
	plan      Plan
	left      map[string]bool
	all       []Variant
	excluded  []Exclusion
	parallel  int
	durations *Durations
}

func runHost(t *testing.T, tests []*ktstr.Test, o Options, withTest bool) {
	t.Helper()
	if testing.Short() {
		t.Skip("ktstr: VM tests are skipped under -short")
	}
	p, err := prepare(tests, o)
	if errors.Is(err, ktstr.ErrNoKernel) {
		t.Skipf("ktstr: %v", err)
	}
	if err != nil {
		t.Fatalf("gauntlet: %v", err)
	}
	for _, e := range p.excluded {
		t.Logf("gauntlet: %s %s excluded: %s", e.Test, e.What, e.Why)
	}
	if err := checkExpected(p.all, withTest); err != nil {
		t.Fatalf("gauntlet: %v", err)
	}
	if len(p.plan.Left) > 0 {
		t.Logf("gauntlet: the budget keeps %d of %d variants (estimated %v at parallelism %d); left out: %s",
			len(p.plan.Run), len(p.all), p.plan.Estimate.Round(time.Second), p.parallel, ids(p.plan.Left))
	}
	t.Cleanup(func() {
		if err := p.durations.Save(); err != nil {
			t.Logf("gauntlet: %v", err)
		}
	})
	tree(t, p, p.all, withTest)
}

// tree makes the nested subtests; consecutive variants share each level
// (Expand emits them grouped).
func tree(t *testing.T, p *prepared, vs []Variant, withTest bool) {
	levels := []func(Variant) string{
		func(v Variant) string { return v.Preset.Name },
		func(v Variant) string { return v.FlagsName() },
		func(v Variant) string { return v.Kernel.Label },
	}
	if withTest {
		levels = append([]func(Variant) string{func(v Variant) string { return v.Test.Name }}, levels...)
	}
	var level func(t *testing.T, vs []Variant, l int)
	level = func(t *testing.T, vs []Variant, l int) {
		if l == len(levels) {
			p.runLeaf(t, vs[0])
			return
		}
		for i := 0; i < len(vs); {
			j := i + 1
			for j < len(vs) && levels[l](vs[j]) == levels[l](vs[i]) {
				j++
			}
			group := vs[i:j]
			t.Run(levels[l](vs[i]), func(t *testing.T) { level(t, group, l+1) })
			i = j
		}
	}
	level(t, vs, 0)
}

// vmSlots bounds the VMs of every go test gauntlet in the process.
var (
	vmSlotsOnce sync.Once
	vmSlots     chan struct{}
)

func (p *prepared) leaf(t *testing.T, v Variant) {
	if p.left[v.ID()] {
		t.Skipf("ktstr: left out by the budget (%s)", EnvBudget)
	}
	if v.Skip != "" {
		t.Skipf("ktstr: %s", v.Skip)
	}
	if p.parallel > 1 {
		t.Parallel()
	}
	vmSlotsOnce.Do(func() { vmSlots = make(chan struct{}, p.parallel) })
	vmSlots <- struct{}{}
	defer func() { <-vmSlots }()
	start := time.Now()
	res := ktstr.RunResultWith(t, v.Test.Opts, runOptions(v, "", nil), v.Test.Body)
	o := Outcome{Variant: v, Wall: time.Since(start), Scenario: v.Test.EffectiveDuration()}
	o.fill(res, nil)
	p.durations.Record(v.ID(), o.Wall)
	share := ""
	if h := o.HostShare; h != nil {
		share = fmt.Sprintf(", host share %.0f%%", 100*h.Share)
	}
	switch {
	case o.Verdict == verdict.Pass:
		t.Logf("ktstr: %s passed on %s with %s in %v (VM %v%s)", v.ID(), res.Backend, v.SchedName(), o.Wall.Round(time.Millisecond), o.VM.Round(time.Millisecond), share)
	case o.Verdict == verdict.Skip:
		t.Skipf("ktstr: guest skipped %s: %s", v.ID(), strings.Join(o.Reasons, "; "))
	case o.Overloaded:
		// Not judged: the host, not the scheduler, starved the guest.
		t.Skipf("ktstr: %s: %s", v.ID(), strings.Join(o.Reasons, "\n  "))
	default:
		t.Fatalf("ktstr: %s: %s\n  %s\n--- console tail (VM exit: %s) ---\n%s",
			v.ID(), o.Verdict, strings.Join(o.Reasons, "\n  "), res.Exit.Reason, res.Exit.ConsoleTail)
	}
}

// kernelCache resolves each kernel selection once per process.
var kernelCache sync.Map // key → *kernelsOnce

type kernelsOnce struct {
	once sync.Once
	ks   []Kernel
	err  error
}

func resolveOnce(specs []string) ([]Kernel, error) {
	key := strings.Join(specs, "\x00") + "\x01" + os.Getenv(kernel.EnvKernelList) + "\x01" + kernel.EnvSpec() + "\x01" + os.Getenv(EnvKernelLabel)
	v, _ := kernelCache.LoadOrStore(key, &kernelsOnce{})
	k := v.(*kernelsOnce)
	k.once.Do(func() { k.ks, k.err = ResolveKernels(context.Background(), KernelOptions{Specs: specs}) })
	return k.ks, k.err
}

func prepare(tests []*ktstr.Test, o Options) (*prepared, error) {
	presetNames := o.Presets
	if v := strings.TrimSpace(os.Getenv(EnvPresets)); v != "" {
		presetNames = []string{v}
	}
	presets, err := SelectPresets(presetNames)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvPresets, err)
	}
	specs := o.Kernels
	if os.Getenv(kernel.EnvKernelList) != "" || kernel.EnvSpec() != "" {
		specs = nil // the environment's kernels
	}
	kernels, err := resolveOnce(specs)
	if err != nil {
		return nil, err
	}
	vs, excl, err := Expand(Selection{Tests: tests, Presets: presets, Flags: o.Flags, Kernels: kernels})
	if err != nil {
		return nil, err
	}
	budget := o.Budget
	if v := strings.TrimSpace(os.Getenv(EnvBudget)); v != "" {
		if budget, err = time.ParseDuration(v); err != nil || budget <= 0 {
			return nil, fmt.Errorf("%s=%q: want a positive duration such as 10m", EnvBudget, v)
		}
	}
	par := o.Parallel
	if os.Getenv(EnvParallelism) != "" {
		par = 0 // the environment's
	}
	if par, err = Parallelism(par); err != nil {
		return nil, err
	}
	d, err := LoadDurations("")
	if err != nil {
		return nil, err
	}
	plan := Select(vs, budget, par, d.Estimate)
	p := &prepared{plan: plan, all: vs, excluded: excl, parallel: par, durations: d, left: map[string]bool{}}
	p.runLeaf = p.leaf
	for _, v := range plan.Left {
		p.left[v.ID()] = true
	}
	return p, nil
}

// checkExpected fails a Bazel target whose case is not in the expansion.
func checkExpected(vs []Variant, withTest bool) error {
	want := strings.TrimSpace(os.Getenv(EnvExpect))
	if want == "" {
		return nil
	}
	for _, v := range vs {
		got := v.Path()
		if withTest {
			got = v.ID()
		}
		if got == want {
			return nil
		}
	}
	return fmt.Errorf("%s=%s: this test does not expand to that case (tests/gauntlet_variants.bzl is stale: regenerate it with `ktstr gauntlet --bzl`)", EnvExpect, want)
}

func ids(vs []Variant) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = v.ID()
	}
	return strings.Join(s, ", ")
}
