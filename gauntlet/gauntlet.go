package gauntlet

import (
	"context"
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"
)

// Config is a `ktstr gauntlet` run over registered tests.
type Config struct {
	// Tests, Presets, Flags and Kernels select each dimension (empty:
	// every registered test, every preset, every valid flag combination,
	// and KTSTR_KERNEL_LIST / KTSTR_KERNEL / the default kernel).
	Tests, Presets, Flags, Kernels []string
	// Registry is a repository kernel ranges also expand against.
	Registry string
	Insecure bool
	// Budget bounds the run's wall time (0: run everything).
	Budget time.Duration
	// Parallel is how many VMs run at once (0: Parallelism's default).
	Parallel int
	Backend  string
	Log      *zap.Logger
	// Progress, when set, gets one line per finished variant.
	Progress io.Writer
}

// Prepared is a resolved, expanded and budgeted gauntlet, ready to run.
type Prepared struct {
	Plan     Plan
	Excluded []Exclusion
	Kernels  []Kernel
	Parallel int
	cfg      Config
	dur      *Durations
}

// Prepare resolves every kernel once, expands the selection and applies
// the budget. Nothing boots yet.
func Prepare(ctx context.Context, cfg Config) (*Prepared, error) {
	tests, err := SelectTests(cfg.Tests)
	if err != nil {
		return nil, err
	}
	presets, err := SelectPresets(cfg.Presets)
	if err != nil {
		return nil, err
	}
	par, err := Parallelism(cfg.Parallel)
	if err != nil {
		return nil, err
	}
	kernels, err := ResolveKernels(ctx, KernelOptions{Specs: cfg.Kernels, Registry: cfg.Registry, Insecure: cfg.Insecure, Log: cfg.Log})
	if err != nil {
		return nil, err
	}
	vs, excl, err := Expand(Selection{Tests: tests, Presets: presets, Flags: cfg.Flags, Kernels: kernels})
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("the selection expands to no variant (every preset was excluded by the tests' constraints: %d exclusions)", len(excl))
	}
	d, err := LoadDurations("")
	if err != nil {
		return nil, err
	}
	return &Prepared{Plan: Select(vs, cfg.Budget, par, d.Estimate), Excluded: excl, Kernels: kernels, Parallel: par, cfg: cfg, dur: d}, nil
}

// Run boots the planned variants, records their durations for later
// budgets and returns the report.
func (p *Prepared) Run(ctx context.Context) (*Report, error) {
	r := &Runner{Parallel: p.Parallel, Backend: p.cfg.Backend, Durations: p.dur, Log: p.cfg.Log}
	if w := p.cfg.Progress; w != nil {
		n, done := len(p.Plan.Run), 0
		r.OnDone = func(o Outcome) {
			done++
			fmt.Fprintf(w, "[%d/%d] %s %s %s\n", done, n, o.Variant.ID(), o.Verdict, fmtDur(o.Wall))
		}
	}
	start := time.Now()
	outs := r.Run(ctx, p.Plan.Run)
	rep := &Report{Outcomes: outs, Left: p.Plan.Left, Uncovered: p.Plan.Uncovered, Excluded: p.Excluded, Parallelism: p.Parallel, Wall: time.Since(start)}
	return rep, p.dur.Save()
}
