package tests

import (
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/scheds"
	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/verdict"
)

// TestSchedExtSelftests runs the kernel's own sched_ext selftests, built
// from the kernel source of the kernel under test against its BTF, as a
// TAP payload in a 2-CPU guest: each selftest is a subtest here with its
// verdict and output.
func TestSchedExtSelftests(t *testing.T) {
	inc, err := scheds.SelftestsIncludes()
	if err != nil {
		t.Skipf("cannot build the sched_ext selftests here: %v", err)
	}
	res := ktstr.RunResult(t, ktstr.Opts{Topology: topology.Must("1n1l2c1t"), Includes: inc, Timeout: 20 * time.Minute},
		func(ctx *scenario.Ctx) error {
			_, err := ctx.RunPayload(scheds.Selftests)
			return err
		})
	if res == nil {
		return // in the guest
	}
	prs, err := scenario.PayloadResults(res.Records)
	if err != nil || len(prs) != 1 {
		t.Fatalf("%d payload results (%v); reasons %q", len(prs), err, res.Reasons)
	}
	pr := prs[0]
	if len(pr.Cases) < 15 {
		t.Fatalf("%d selftest cases, want the whole suite (6.12 has 21 tests); error %q\n%s", len(pr.Cases), pr.Error, pr.Output)
	}
	reportCases(t, pr)
	if pr.Verdict == verdict.Fail && pr.Error != "" {
		t.Errorf("runner: %s", pr.Error)
	}
}

// reportCases makes each TAP case of a payload a subtest with its
// verdict: a failed case fails with its output, a skipped one skips.
func reportCases(t *testing.T, pr scenario.PayloadResult) {
	t.Helper()
	for _, c := range pr.Cases {
		t.Run(c.Name, func(t *testing.T) {
			switch c.Verdict {
			case verdict.Fail:
				t.Errorf("not ok %d %s\n%s", c.Num, c.Name, strings.TrimSpace(c.Output))
			case verdict.Skip:
				t.Skipf("ok %d %s # %s", c.Num, c.Name, c.Directive)
			default:
				t.Logf("ok %d %s", c.Num, c.Name)
			}
		})
	}
}
