package ktstr

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr/internal/cgroupfs"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/verdict"
)

// bodyRun is one execution of a test body, in a VM's guest or on a
// bare-metal host. Both run the same steps and judge the same way, so a
// test means the same thing wherever it runs.
type bodyRun struct {
	body     func(*scenario.Ctx) error
	topology topology.Topology
	duration time.Duration
	// cgroup is the test's cgroup2 directory: created here with the cpu
	// and cpuset controllers below it, removed here with whatever is
	// still in it. Empty runs the body without cgroups (host-only).
	cgroup string
	// startSched brings up the scheduler under test once the cgroup
	// exists, or finds it; nil runs under EEVDF.
	startSched func() (schedUnderTest, error)
	emit       func(kind string, payload any)
	// limit bounds the body; zero means none (in a VM the host's timeout
	// bounds the whole run and says where the vCPUs were).
	limit time.Duration
	// probes (nil: none) are attached around the body: kernel functions
	// before the scheduler starts, its callbacks once it has attached;
	// they send their last report before the checks are judged.
	probes *bodyProbes
	log    *zap.Logger
}

// schedUnderTest is the scheduler a body runs under: the scenario
// controls it, the runner lets go of it when the body is done.
type schedUnderTest interface {
	scenario.SchedulerControl
	// Stop detaches the scheduler, or lets go of it where another
	// process owns it.
	Stop() error
}

// run sets up the cgroup and the scheduler, runs the body, collects every
// check, confirms the scheduler survived and tears everything down. It
// returns the verdict with every reason behind it, or an error when the
// test could not run at all.
func (b *bodyRun) run() (v verdict.Verdict, reasons []string, err error) {
	if b.cgroup != "" {
		var top string
		if top, err = createCgroupPath(b.cgroup); err != nil {
			return verdict.Fail, nil, err
		}
		defer func() {
			if cerr := cgroupfs.RemoveTree(top); cerr != nil && err == nil {
				reasons = append(reasons, fmt.Sprintf("cleaning up: %v", cerr))
				v = v.Merge(verdict.Fail)
			}
		}()
	}
	b.probes.start(b.log)
	defer b.probes.stop(b.log)
	var sched schedUnderTest
	if b.startSched != nil {
		if sched, err = b.startSched(); err != nil {
			return verdict.Fail, nil, err
		}
	}
	b.probes.callbacks()
	cfg := scenario.CtxConfig{Topology: b.topology, Duration: b.duration, CgroupRoot: b.cgroup, NoCgroups: b.cgroup == "", Emit: b.emit, Log: b.log}
	if sched != nil {
		cfg.Scheduler = sched
	}
	ctx, err := scenario.NewCtx(cfg)
	if err != nil {
		if sched != nil {
			_ = sched.Stop()
		}
		return verdict.Fail, nil, fmt.Errorf("setting up the scenario: %w", err)
	}
	stopped, bodyErr := b.call(ctx)
	b.probes.stop(b.log)
	if stopped != "" {
		// The deferred teardown kills whatever the body started.
		if sched != nil {
			_ = sched.Stop()
		}
		return verdict.Fail, []string{stopped}, nil
	}
	res, reasons := judgeBody(ctx, bodyErr)
	if sched != nil {
		// A scheduler that died fails the test even if the workers
		// looked fine.
		if err := sched.Alive(); err != nil {
			reasons = append(reasons, err.Error())
			res.Verdict = res.Verdict.Merge(verdict.Fail)
		}
		if err := sched.Stop(); err != nil {
			reasons = append(reasons, fmt.Sprintf("detaching %s: %v", sched.Name(), err))
			res.Verdict = res.Verdict.Merge(verdict.Fail)
		}
	}
	return res.Verdict, reasons, nil
}

// call runs the body. The body has no context to cancel, so a signal or
// the limit ends the wait from here; stopped then says why.
func (b *bodyRun) call(ctx *scenario.Ctx) (stopped string, bodyErr error) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	done := make(chan error, 1)
	go func() { done <- b.body(ctx) }()
	var limit <-chan time.Time
	if b.limit > 0 {
		t := time.NewTimer(b.limit)
		defer t.Stop()
		limit = t.C
	}
	select {
	case err := <-done:
		return "", err
	case sig := <-sigs:
		return fmt.Sprintf("interrupted by %v", sig), nil
	case <-limit:
		return fmt.Sprintf("test body did not return within %s", b.limit), nil
	}
}

// judgeBody closes the scenario and folds the body's error and every check
// into one result, with each reason listed once.
func judgeBody(ctx *scenario.Ctx, bodyErr error) (scenario.AssertResult, []string) {
	var reasons []string
	res := ctx.Result()
	if err := ctx.Close(); err != nil {
		reasons = append(reasons, fmt.Sprintf("cleaning up the scenario: %v", err))
		res.Verdict = res.Verdict.Merge(verdict.Fail)
	}
	var check *scenario.CheckError
	switch {
	case bodyErr == nil:
	case errors.As(bodyErr, &check):
		// Its failures are in res already.
		res.Verdict = res.Verdict.Merge(verdict.Fail)
	default:
		reasons = append(reasons, bodyErr.Error())
		res.Verdict = res.Verdict.Merge(verdict.Fail)
	}
	for _, d := range res.Details {
		reasons = append(reasons, d.String())
	}
	if res.Verdict == verdict.Skip && bodyErr == nil && len(res.Checks) == 0 {
		// A body with no checks that returned nil passed.
		res.Verdict = verdict.Pass
	}
	return res, reasons
}
