package ktstr

import (
	"errors"
	"fmt"

	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/verdict"
)

// judgeBody closes the scenario and folds the body's error and every check
// into one result, with each reason listed once. The VM and host runs
// both use it, so a test is judged the same wherever it runs.
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
