package gauntlet

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/verdict"
)

// Outcome is one variant's result.
type Outcome struct {
	Variant Variant
	Verdict verdict.Verdict
	// Reasons explain a verdict other than pass, first the one the table
	// shows.
	Reasons []string
	// Wall is the host's time for the variant, planning to verdict; VM is
	// the VM's own run time; Scenario the scenario's duration.
	Wall, VM, Scenario time.Duration
	// HostShare is the host CPU the VM got while its guest had work
	// (nil when unmeasured): see OverloadShare.
	HostShare *monitor.HostShare
	// Overloaded says a failure was made inconclusive because the host
	// starved the VM.
	Overloaded bool
}

// Runner runs variants of registered tests in VMs, Parallel at a time.
type Runner struct {
	// Parallel is how many VMs run at once (Parallelism gives the knob).
	Parallel int
	// Backend is RunOptions.Backend ("" is auto).
	Backend string
	// Durations, when set, records each run's wall time for later
	// budgets.
	Durations *Durations
	Log       *zap.Logger
	// OnDone, when set, is called as each variant finishes (from the
	// worker goroutines, one at a time).
	OnDone func(Outcome)
}

// Run runs every variant and returns the outcomes in the order given.
// Cancelling ctx stops the VMs; unstarted variants are reported as
// skipped ("cancelled").
func (r *Runner) Run(ctx context.Context, vs []Variant) []Outcome {
	out := make([]Outcome, len(vs))
	jobs := make(chan int)
	var wg sync.WaitGroup
	var doneMu sync.Mutex
	for w := 0; w < max(r.Parallel, 1); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				out[i] = r.runOne(ctx, vs[i])
				if r.OnDone != nil {
					doneMu.Lock()
					r.OnDone(out[i])
					doneMu.Unlock()
				}
			}
		}()
	}
	for i := range vs {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return out
}

func (r *Runner) runOne(ctx context.Context, v Variant) Outcome {
	o := Outcome{Variant: v, Scenario: v.Test.EffectiveDuration()}
	if v.Skip != "" {
		o.Verdict, o.Reasons = verdict.Skip, []string{v.Skip}
		return o
	}
	if ctx.Err() != nil {
		o.Verdict, o.Reasons = verdict.Skip, []string{"cancelled"}
		return o
	}
	log := r.Log
	if log == nil {
		log = zap.NewNop()
	}
	start := time.Now()
	res, err := ktstr.Boot(ctx, v.Test, runOptions(v, r.Backend, log.With(zap.String("variant", v.ID()))))
	o.Wall = time.Since(start)
	o.fill(res, err)
	if r.Durations != nil && ctx.Err() == nil && o.Verdict != verdict.Skip {
		r.Durations.Record(v.ID(), o.Wall)
	}
	return o
}

// runOptions pins the variant's dimensions: caller options beat the
// environment and the test (overrides.go), so KTSTR_TOPOLOGY or
// KTSTR_FLAGS cannot turn one variant into another.
func runOptions(v Variant, backend string, log *zap.Logger) ktstr.RunOptions {
	flags := v.Flags
	if flags == nil {
		flags = []string{}
	}
	return ktstr.RunOptions{Kernel: v.Kernel.Spec, Topology: v.Preset.Topology, Flags: flags, Backend: backend, Log: log, RunName: v.ID()}
}

// fill judges a run: the host's verdict, made inconclusive if the host
// starved a failing VM.
func (o *Outcome) fill(res *ktstr.Result, err error) {
	switch {
	case errors.Is(err, ktstr.ErrNoKernel):
		o.Verdict, o.Reasons = verdict.Skip, []string{err.Error()}
		return
	case err != nil:
		o.Verdict, o.Reasons = verdict.Fail, []string{err.Error()}
		return
	}
	o.VM = res.Exit.Duration
	if h, ok := hostShare(res); ok {
		o.HostShare = &h
	}
	o.Verdict, o.Reasons, o.Overloaded = judgeLoad(res.Verdict, res.Reasons, res)
	if o.Verdict == verdict.Fail && len(o.Reasons) == 0 {
		o.Reasons = []string{"VM exit: " + res.Exit.Reason.String() + " " + strings.TrimSpace(res.Exit.Detail)}
	}
}
