package ktstr

import (
	"context"
	"fmt"
	"sync"

	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/vmm"
)

// vmRun is a running VM and what watches it.
type vmRun struct {
	plan    *vmPlan
	machine vmm.Machine
	// stopMonitor stops the host monitor (once) and returns what it saw.
	stopMonitor func() *monitor.Report
	jit         *jitSymbols
	// intro forwards snapshot requests to the monitor and gathers what
	// the run's timeline and probe results are made of.
	intro *introspection
}

// start boots the planned VM and, for a test, the host monitor (unless
// RunOptions.NoMonitor).
func start(ctx context.Context, p *vmPlan, ro RunOptions, log *zap.Logger) (*vmRun, error) {
	log.Info("booting VM", zap.String("test", p.spec.name), zap.String("backend", p.backend.Name()),
		zap.Stringer("topology", p.set.topology), zap.String("kernel", p.kernel.Image), zap.Duration("timeout", p.config.Timeout))
	m, err := p.backend.Start(ctx, p.config)
	if err != nil {
		return nil, fmt.Errorf("booting VM for %s: %w", p.spec.name, err)
	}
	if ro.OnMachine != nil {
		ro.OnMachine(m)
	}
	r := &vmRun{plan: p, machine: m, jit: &jitSymbols{}, intro: newIntrospection(), stopMonitor: func() *monitor.Report { return nil }}
	if !p.spec.interact && !ro.NoMonitor {
		r.stopMonitor = sync.OnceValue(startMonitor(ctx, m, p.kernel.Vmlinux, p.set.topology.CPUs(), r.jit, r.intro, log))
	}
	return r, nil
}
