package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/ktstr-go/ktstr/gauntlet"
	"github.com/ktstr-go/ktstr/topology"
)

func init() {
	register("gauntlet", "run tests over topology presets x flag variants x kernels, in parallel VMs, within a budget", cmdGauntlet)
}

func cmdGauntlet(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("gauntlet", flag.ContinueOnError)
	var tests, kernels, presets, flags stringList
	fs.Var(&tests, "test", "registered test to run (repeatable; default: every registered test)")
	fs.Var(&kernels, "kernel", "kernel: version, cache key, path, registry reference, range A..B or LABEL=SPEC (repeatable; default: KTSTR_KERNEL_LIST, KTSTR_KERNEL, the default kernel)")
	fs.Var(&presets, "preset", "topology preset or topology such as 1n2l2c1t (repeatable, comma-separated; default: every preset; see -presets)")
	fs.Var(&flags, "flags", "keep only this flag combination, \"base\" or flags joined by '+' (repeatable)")
	budget := fs.Duration("budget", 0, "pick the variants that fit this wall time, covering every preset, flag combination and kernel first (e.g. 10m)")
	parallel := fs.Int("parallel", 0, fmt.Sprintf("VMs at once (default: %s, else %d from this host's CPUs and memory)", gauntlet.EnvParallelism, gauntlet.DefaultParallelism()))
	registry := fs.String("registry", "", "also expand kernel ranges against this registry repository's tags (REGISTRY/REPO)")
	insecure := fs.Bool("insecure", false, "allow a plain-HTTP registry")
	backend := fs.String("backend", "auto", "VMM backend: auto, kvm, qemu or qemu-tcg")
	asJSON := fs.Bool("json", false, "print JSON instead of the table")
	junit := fs.String("junit", "", "also write JUnit XML to FILE")
	list := fs.Bool("list", false, "print the variants (and what the budget leaves out) without running them")
	listPresets := fs.Bool("presets", false, "print the topology presets and exit")
	bzl := fs.Bool("bzl", false, "print the variant list for Bazel (tests/gauntlet_variants.bzl) and exit")
	printPar := fs.Bool("print-parallelism", false, "print the parallelism this host defaults to and exit (for bazel --local_test_jobs)")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: ktstr gauntlet [--test NAME]... [--kernel K]... [--preset P]... [--budget D] [--parallel N] [--json] [--junit FILE] [--list]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "ktstr gauntlet: %v\n", err)
		return 1
	}
	switch {
	case *listPresets:
		printPresets()
		return 0
	case *printPar:
		n, err := gauntlet.Parallelism(*parallel)
		if err != nil {
			return fail(err)
		}
		fmt.Println(n)
		return 0
	case *bzl:
		ts, err := gauntlet.SelectTests(tests)
		if err != nil {
			return fail(err)
		}
		if err := gauntlet.WriteBzl(os.Stdout, ts); err != nil {
			return fail(err)
		}
		return 0
	}
	log := newLogger()
	p, err := gauntlet.Prepare(ctx, gauntlet.Config{
		Tests: tests, Presets: presets, Flags: flags, Kernels: kernels, Registry: *registry, Insecure: *insecure,
		Budget: *budget, Parallel: *parallel, Backend: *backend, Log: log, Progress: os.Stderr,
	})
	if err != nil {
		return fail(err)
	}
	if *list {
		printPlan(p)
		return 0
	}
	fmt.Fprintf(os.Stderr, "gauntlet: %d variants on %d kernel(s) at parallelism %d, estimated %v (%d of them measured before)\n",
		len(p.Plan.Run), len(p.Kernels), p.Parallel, p.Plan.Estimate.Round(1e9), p.Plan.Measured)
	rep, err := p.Run(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ktstr gauntlet: %v\n", err) // durations not saved: the verdicts stand
	}
	if *asJSON {
		err = rep.WriteJSON(os.Stdout)
	} else {
		err = rep.WriteTable(os.Stdout)
	}
	if err != nil {
		return fail(err)
	}
	if *junit != "" {
		if err := rep.SaveJUnit(*junit); err != nil {
			return fail(err)
		}
	}
	if rep.Failed() || ctx.Err() != nil {
		return 1
	}
	return 0
}

func printPresets() {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PRESET\tTOPOLOGY\tCPUS\tWHAT IT EXERCISES")
	for _, p := range topology.Presets() {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", p.Name, p.Topology, p.Topology.CPUs(), p.Why)
	}
	tw.Flush()
}

func printPlan(p *gauntlet.Prepared) {
	for _, k := range p.Kernels {
		fmt.Printf("kernel %s: %s\n", k.Label, k.Spec)
	}
	for _, v := range p.Plan.Run {
		line := v.ID()
		if v.Skip != "" {
			line += "  (skips: " + v.Skip + ")"
		}
		fmt.Println(line)
	}
	if len(p.Plan.Left) > 0 {
		fmt.Printf("left out by the budget (%d):\n", len(p.Plan.Left))
		for _, v := range p.Plan.Left {
			fmt.Println("  " + v.ID())
		}
	}
	if len(p.Plan.Uncovered) > 0 {
		fmt.Println("not covered at all: " + strings.Join(p.Plan.Uncovered, ", "))
	}
	fmt.Printf("%d variants, estimated %v at parallelism %d\n", len(p.Plan.Run), p.Plan.Estimate.Round(1e9), p.Parallel)
}
