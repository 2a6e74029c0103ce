package ktstr

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/verdict"
)

// Run runs body as a scheduler test named after t. On the host it boots a
// VM whose init is this test binary told to run only t, and fails t with
// every reason the guest or the VM gave. Inside the guest it runs body.
// Without a kernel it skips t with the KTSTR_KERNEL hint.
func Run(t *testing.T, opts Opts, body func(*scenario.Ctx) error) {
	t.Helper()
	if res := RunResultWith(t, opts, RunOptions{}, body); res != nil {
		report(t, res, nil)
	}
}

// RunResult is Run for tests of the harness itself: it returns the host's
// verdict instead of failing t, so a test can assert that a broken guest
// (panic, hang, failed check) is judged as such. It returns nil inside the
// guest and skips t when no kernel is found.
func RunResult(t *testing.T, opts Opts, body func(*scenario.Ctx) error) *Result {
	t.Helper()
	return RunResultWith(t, opts, RunOptions{}, body)
}

// RunResultWith is RunResult with host-side options (e.g. OnMachine).
func RunResultWith(t *testing.T, opts Opts, ro RunOptions, body func(*scenario.Ctx) error) *Result {
	t.Helper()
	if guest.IsChild() {
		runGuestBody(&opts, body)
		return nil
	}
	if testing.Short() {
		t.Skip("ktstr: VM tests are skipped under -short")
	}
	res, err := boot(context.Background(), bootSpec{
		name:   t.Name(),
		params: guest.BootParams{Mode: guest.ModeGoTest, Test: t.Name()},
		opts:   opts,
	}, withTestDefaults(t, ro))
	if errors.Is(err, ErrNoKernel) {
		t.Skipf("ktstr: %v", err)
	}
	if err != nil {
		t.Fatalf("ktstr: %v", err)
	}
	return res
}

// RunRegistered runs every registered test as a subtest of t: HostOnly
// ones on this host, the others each in a VM.
func RunRegistered(t *testing.T) {
	for _, rt := range Registered() {
		t.Run(rt.Name, func(t *testing.T) { RunTest(t, rt) })
	}
}

// RunTest runs one registered test as t: in a VM (skipped under -short),
// or on this host when it is HostOnly.
func RunTest(t *testing.T, rt *Test) {
	t.Helper()
	if testing.Short() && !rt.HostOnly {
		t.Skip("ktstr: VM tests are skipped under -short")
	}
	res, err := Boot(context.Background(), rt, withTestDefaults(t, RunOptions{}))
	report(t, res, err)
}

// Boot runs a registered test and returns the host's verdict: in a VM,
// or on this host when the test is HostOnly.
func Boot(ctx context.Context, rt *Test, ro RunOptions) (*Result, error) {
	if rt.HostOnly {
		return runOnHost(ctx, rt, ro)
	}
	return boot(ctx, bootSpec{
		name:   rt.Name,
		params: guest.BootParams{Mode: guest.ModeTest, Test: rt.Name},
		opts:   rt.Opts,
	}, ro)
}

func withTestDefaults(t *testing.T, ro RunOptions) RunOptions {
	if ro.Log == nil {
		ro.Log = testLogger(t)
	}
	if ro.OnRecord == nil {
		ro.OnRecord = logRecord(t)
	}
	if ro.Out == "" {
		ro.Out = testResultsDir(t)
	}
	return ro
}

func report(t *testing.T, res *Result, err error) {
	t.Helper()
	if errors.Is(err, ErrNoKernel) {
		t.Skipf("ktstr: %v", err)
	}
	if err != nil {
		t.Fatalf("ktstr: %v", err)
	}
	if res.Watchdog != "" {
		t.Logf("ktstr: %s: sched_ext watchdog in force: %s", res.Test, res.Watchdog)
	}
	if res.Dir != "" {
		t.Logf("ktstr: results in %s (report.html)", res.Dir)
	}
	switch res.Verdict {
	case verdict.Pass:
		t.Logf("ktstr: %s passed on %s in %s", res.Test, res.Backend, res.Exit.Duration.Round(1e6))
		for _, r := range res.Reasons {
			t.Logf("ktstr:   %s", r)
		}
	case verdict.Skip:
		t.Skipf("ktstr: skipped %s: %s", res.Test, strings.Join(res.Reasons, "; "))
	default:
		if res.Backend == HostBackend {
			t.Fatalf("ktstr: %s: %s on this host\n  %s", res.Test, res.Verdict, strings.Join(res.Reasons, "\n  "))
		}
		t.Fatalf("ktstr: %s: %s\n  %s\n%s--- console tail (VM exit: %s) ---\n%s",
			res.Test, res.Verdict, strings.Join(res.Reasons, "\n  "), res.Explain(), res.Exit.Reason, res.Exit.ConsoleTail)
	}
}

func logRecord(t *testing.T) func(guest.Record) {
	return func(r guest.Record) {
		switch r.Kind {
		case guest.KindPhase, guest.KindSched, guest.KindAssert:
			t.Logf("guest +%s %s %s", r.Elapsed.Round(1e6), r.Kind, r.Data)
		}
	}
}

// testLogger logs at warn level by default; KTSTR_LOG=debug|info raises it.
func testLogger(t *testing.T) *zap.Logger {
	level := zap.WarnLevel
	if l := os.Getenv("KTSTR_LOG"); l != "" {
		if err := level.Set(l); err != nil {
			t.Logf("ktstr: ignoring KTSTR_LOG=%q: %v", l, err)
		}
	}
	cfg := zap.NewDevelopmentConfig()
	cfg.Level = zap.NewAtomicLevelAt(level)
	lg, err := cfg.Build()
	if err != nil {
		return zap.NewNop()
	}
	return lg
}
