package ktstr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/kernel"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/verdict"
	"github.com/ktstr-go/ktstr/vmm"
)

// EnvRequireKernel, set true (1, true), makes a missing kernel fail a VM
// test instead of skipping it, so a CI run cannot pass while testing
// nothing; CI=true does the same unless it is set false (kernel.Required).
const EnvRequireKernel = kernel.EnvRequire

// Run runs body as a scheduler test named after t. On the host it boots a
// VM whose init is this test binary told to run only t, and fails t with
// every reason the guest or the VM gave. Inside the guest it runs body.
// Without a kernel it skips t with the KTSTR_KERNEL hint (fails it when
// KTSTR_REQUIRE_KERNEL or CI is set).
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
	ro = withTestDefaults(t, ro)
	res, err := boot(t.Context(), bootSpec{
		name:   t.Name(),
		params: guest.BootParams{Mode: guest.ModeGoTest, Test: t.Name()},
		opts:   opts,
	}, ro)
	if err != nil {
		noKernelOrFatal(t, err)
	}
	explainDeadline(res, ro.Deadline)
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
	ro := withTestDefaults(t, RunOptions{})
	res, err := Boot(t.Context(), rt, ro)
	if err == nil {
		explainDeadline(res, ro.Deadline)
	}
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

// withTestDefaults logs through t and fits the run inside go test's
// -timeout: a run about to overrun it is stopped in time to fail t with
// where the guest was, instead of the test binary panicking.
func withTestDefaults(t *testing.T, ro RunOptions) RunOptions {
	t.Helper()
	if ro.Log == nil {
		ro.Log = testLogger(t)
	}
	if ro.OnRecord == nil {
		ro.OnRecord = logRecord(t)
	}
	if d, ok := t.Deadline(); ok && ro.Deadline.IsZero() {
		if left := time.Until(d); left < minTestTime+DeadlineGrace {
			t.Fatalf("ktstr: only %s left before the go test -timeout deadline; a VM run needs at least %s: raise -timeout",
				left.Round(time.Second), minTestTime+DeadlineGrace)
		}
		ro.Deadline = d
	}
	if ro.Out == "" {
		ro.Out = testResultsDir(t)
	}
	return ro
}

// minTestTime is the least a VM run gets before the go test deadline:
// less cannot boot a guest under emulation.
const minTestTime = 20 * time.Second

// explainDeadline says why a run that timed out near the go test
// deadline was stopped: its timeout was cut to fit.
func explainDeadline(res *Result, deadline time.Time) {
	if res == nil || deadline.IsZero() || res.Exit.Reason != vmm.ExitTimeout || time.Until(deadline) > 2*DeadlineGrace {
		return
	}
	res.Reasons = append(res.Reasons, "the VM was stopped to end before the go test -timeout deadline: raise -timeout (or shorten the test)")
}

func report(t *testing.T, res *Result, err error) {
	t.Helper()
	if err != nil {
		noKernelOrFatal(t, err)
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

// noKernelOrFatal ends t for a run that could not start: a skip when no
// kernel was found (a failure when RequireKernel), else a failure.
func noKernelOrFatal(t *testing.T, err error) {
	t.Helper()
	switch {
	case !errors.Is(err, ErrNoKernel):
		t.Fatalf("ktstr: %v", err)
	case kernel.Required():
		t.Fatalf("ktstr: %v (a kernel is required: %s or CI is set)", err, EnvRequireKernel)
	default:
		t.Skipf("ktstr: %v", err)
	}
}

func logRecord(t *testing.T) func(guest.Record) {
	w := testOutput(t)
	return func(r guest.Record) {
		switch r.Kind {
		case guest.KindPhase, guest.KindSched, guest.KindAssert:
			fmt.Fprintf(w, "guest +%s %s %s\n", r.Elapsed.Round(1e6), r.Kind, r.Data)
		}
	}
}

// testLogger logs through t's output, so go test prints the harness's
// lines with the test they belong to, at warn level by default
// (KTSTR_LOG=debug|info raises it). Warnings carry no stack traces.
func testLogger(t *testing.T) *zap.Logger {
	level := zap.WarnLevel
	if l := os.Getenv("KTSTR_LOG"); l != "" {
		if err := level.Set(l); err != nil {
			t.Logf("ktstr: ignoring KTSTR_LOG=%q: %v", l, err)
		}
	}
	enc := zap.NewDevelopmentEncoderConfig()
	enc.TimeKey, enc.CallerKey = "", ""
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.AddSync(testOutput(t)), level)
	return zap.New(core)
}

// testOutput is t.Output that drops writes once t is over: the VM's
// goroutines may still log while a failed test unwinds, and writing to a
// finished test's output panics.
func testOutput(t *testing.T) io.Writer {
	w := &lateSafeWriter{w: t.Output()}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return w
}

type lateSafeWriter struct {
	mu   sync.Mutex
	w    io.Writer
	done bool
}

func (l *lateSafeWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return len(p), nil
	}
	return l.w.Write(p)
}
