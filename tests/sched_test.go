package tests

import (
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/scheds"
)

// idle is a body that only lets the scheduler run for the duration; the
// runner checks the scheduler stayed attached and detached cleanly.
func idle(ctx *scenario.Ctx) error {
	time.Sleep(ctx.Duration)
	return nil
}

// TestSchedFIFOAttaches boots the in-repo FIFO scheduler: attach, run,
// detach must all succeed.
func TestSchedFIFOAttaches(t *testing.T) {
	ktstr.Run(t, ktstr.Opts{Scheduler: scheds.FIFO, Duration: 2 * time.Second}, idle)
}

// TestSchedErrorIsCaught: the scheduler that calls scx_bpf_error must
// fail the test with sched_ext's reason even though the body passed. It
// errors 1.5 s after attach, well within the 4 s the body holds.
func TestSchedErrorIsCaught(t *testing.T) {
	res := ktstr.RunResult(t, ktstr.Opts{Scheduler: scheds.Error, Duration: 4 * time.Second}, idle)
	if res == nil {
		return // guest side
	}
	if res.Passed() || !strings.Contains(strings.Join(res.Reasons, "\n"), "scx_bpf_error") {
		t.Fatalf("want a failure naming scx_bpf_error, got %s: %v", res.Verdict, res.Reasons)
	}
}

// TestSchedBadFlag: an unknown flag is refused with the declared ones.
func TestSchedBadFlag(t *testing.T) {
	err := scheds.QMap.Validate([]string{"dsp-batch"})
	if err == nil || !strings.Contains(err.Error(), `requires flag "short-slice"`) {
		t.Fatalf("Validate = %v", err)
	}
	err = scheds.Simple.Validate([]string{"nope"})
	if err == nil || !strings.Contains(err.Error(), "declared: vtime") {
		t.Fatalf("Validate = %v", err)
	}
}
