package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr/gauntlet"
	"github.com/ktstr-go/ktstr/kernel"
	"github.com/ktstr-go/ktstr/topology"
)

func init() { register("", newGauntletCmd) }

// gauntletFlags are `ktstr gauntlet`'s flags.
type gauntletFlags struct {
	tests, kernels, presets, flags  []string
	budget                          time.Duration
	parallel                        int
	registry, junit                 string
	insecure, json, list            bool
	listPresets, bzl, printParallel bool
	backend                         backendValue
}

func newGauntletCmd(e *env) *cobra.Command {
	var f gauntletFlags
	c := &cobra.Command{
		Use:   "gauntlet",
		Short: "Run tests over topology presets x flag variants x kernels, in parallel VMs, within a budget",
		Example: `  ktstr gauntlet --test demo --preset pair,numa2 --list
  ktstr gauntlet --kernel 6.12 --kernel 6.1 --budget 10m --junit gauntlet.xml`,
		GroupID: groupTest,
		Args:    noArgs,
		RunE:    func(c *cobra.Command, _ []string) error { return runGauntlet(c.Context(), e, &f) },
	}
	fl := c.Flags()
	fl.StringArrayVar(&f.tests, "test", nil, "registered test to run (repeatable; default: every registered test)")
	_ = c.RegisterFlagCompletionFunc("test", completeTestFlag)
	fl.StringArrayVar(&f.kernels, "kernel", nil, "kernel: version, cache key, path, registry reference, range A..B or LABEL=SPEC (repeatable; default: KTSTR_KERNEL_LIST, KTSTR_KERNEL, the default kernel)")
	_ = c.RegisterFlagCompletionFunc("kernel", completeKernels)
	fl.StringArrayVar(&f.presets, "preset", nil, "topology preset (repeatable, comma-separated; default: every preset; see --presets)")
	_ = c.RegisterFlagCompletionFunc("preset", cobra.FixedCompletions(topology.PresetNames(), cobra.ShellCompDirectiveNoFileComp))
	fl.StringArrayVar(&f.flags, "flags", nil, `keep only this flag combination, "base" or flags joined by '+' (repeatable)`)
	addDurationFlag(c, &f.budget, "budget", "pick the variants that fit this wall time, covering every preset, flag combination and kernel first")
	fl.IntVar(&f.parallel, "parallel", 0, fmt.Sprintf("VMs at once (default: %s, else %d from this host's CPUs and memory)", gauntlet.EnvParallelism, gauntlet.DefaultParallelism()))
	fl.StringVar(&f.registry, "registry", "", "also expand kernel ranges against this registry repository's tags (REGISTRY/REPO)")
	addInsecureFlag(c, &f.insecure)
	addBackendFlag(c, &f.backend)
	addJSONFlag(c, &f.json, "the report")
	addJUnitFlag(c, &f.junit)
	fl.BoolVar(&f.list, "list", false, "print the variants (and what the budget leaves out) without running them")
	fl.BoolVar(&f.listPresets, "presets", false, "print the topology presets")
	fl.BoolVar(&f.bzl, "bzl", false, "print the variant list for Bazel (tests/gauntlet_variants.bzl)")
	fl.BoolVar(&f.printParallel, "print-parallelism", false, "print the parallelism this host defaults to (for bazel --local_test_jobs)")
	return c
}

func runGauntlet(ctx context.Context, e *env, f *gauntletFlags) error {
	if err := checkGauntletInputs(f); err != nil {
		return err
	}
	switch {
	case f.listPresets:
		return printPresets(e.stdout)
	case f.printParallel:
		n, _ := gauntlet.Parallelism(f.parallel) // checked above
		fmt.Fprintln(e.stdout, n)
		return nil
	case f.bzl:
		ts, _ := gauntlet.SelectTests(f.tests)
		return gauntlet.WriteBzl(e.stdout, ts)
	}
	p, err := gauntlet.Prepare(ctx, gauntlet.Config{
		Tests: f.tests, Presets: f.presets, Flags: f.flags, Kernels: f.kernels, Registry: f.registry, Insecure: f.insecure,
		Budget: f.budget, Parallel: f.parallel, Backend: string(f.backend), Log: e.logger(), Progress: e.stderr,
	})
	if err != nil {
		return err
	}
	if f.list {
		printPlan(e.stdout, p)
		return nil
	}
	fmt.Fprintf(e.stderr, "gauntlet: %d variants on %d kernel(s) at parallelism %d, estimated %v (%d of them measured before)\n",
		len(p.Plan.Run), len(p.Kernels), p.Parallel, p.Plan.Estimate.Round(time.Second), p.Plan.Measured)
	rep, err := p.Run(ctx)
	if err != nil {
		e.logger().Warn("gauntlet durations not saved; the verdicts stand", zap.Error(err))
	}
	if f.json {
		err = rep.WriteJSON(e.stdout)
	} else {
		err = rep.WriteTable(e.stdout)
	}
	if err != nil {
		return err
	}
	if f.junit != "" {
		if err := rep.SaveJUnit(f.junit); err != nil {
			return err
		}
	}
	if rep.Failed() {
		return exitCode(exitFail)
	}
	return nil
}

// checkGauntletInputs checks every selection before any kernel is
// resolved or VM booted.
func checkGauntletInputs(f *gauntletFlags) error {
	if f.parallel < 0 {
		return usagef("--parallel %d: want a number of VMs, or 0 for the default (%d here)", f.parallel, gauntlet.DefaultParallelism())
	}
	if _, err := gauntlet.Parallelism(f.parallel); err != nil {
		return usageErr(err)
	}
	if _, err := gauntlet.SelectTests(f.tests); err != nil {
		return usageErr(err)
	}
	if _, err := gauntlet.SelectPresets(f.presets); err != nil {
		return usageErr(err)
	}
	if err := checkOutputFile("junit", f.junit); err != nil {
		return err
	}
	for _, s := range f.kernels {
		for _, en := range kernel.SplitList(s) {
			id, err := kernel.ParseID(en.Spec)
			if err == nil {
				err = id.Validate()
			}
			if err == nil && id.Kind == kernel.IDPath {
				err = kernel.CheckSpec(en.Spec, "--kernel "+en.Spec)
			}
			if err != nil {
				return usagef("--kernel %s: %v", s, err)
			}
		}
	}
	return checkVM("", f.backend)
}

func printPresets(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PRESET\tTOPOLOGY\tCPUS\tWHAT IT EXERCISES")
	for _, p := range topology.Presets() {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", p.Name, p.Topology, p.Topology.CPUs(), p.Why)
	}
	return tw.Flush()
}

func printPlan(w io.Writer, p *gauntlet.Prepared) {
	for _, k := range p.Kernels {
		fmt.Fprintf(w, "kernel %s: %s\n", k.Label, k.Spec)
	}
	for _, v := range p.Plan.Run {
		line := v.ID()
		if v.Skip != "" {
			line += "  (skips: " + v.Skip + ")"
		}
		fmt.Fprintln(w, line)
	}
	if len(p.Plan.Left) > 0 {
		fmt.Fprintf(w, "left out by the budget (%d):\n", len(p.Plan.Left))
		for _, v := range p.Plan.Left {
			fmt.Fprintln(w, "  "+v.ID())
		}
	}
	if len(p.Plan.Uncovered) > 0 {
		fmt.Fprintln(w, "not covered at all: "+strings.Join(p.Plan.Uncovered, ", "))
	}
	fmt.Fprintf(w, "%d variants, estimated %v at parallelism %d\n", len(p.Plan.Run), p.Plan.Estimate.Round(time.Second), p.Parallel)
}
