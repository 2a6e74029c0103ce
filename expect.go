package ktstr

import (
	"fmt"
	"regexp"

	"github.com/ktstr-go/ktstr/verdict"
)

// compileExpectFail checks Opts.ExpectFail before anything runs.
func compileExpectFail(pattern string) (*regexp.Regexp, error) {
	if pattern == "" {
		return nil, nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("ExpectFail %q: %w", pattern, err)
	}
	return re, nil
}

// expectFailure judges a test that must fail: a failure with a reason
// matching re passes (naming that reason), a failure for other reasons
// only or a pass fails, saying so; a skipped or inconclusive run stays
// what it was. A nil re changes nothing.
func expectFailure(re *regexp.Regexp, v verdict.Verdict, reasons []string) (verdict.Verdict, []string) {
	if re == nil {
		return v, reasons
	}
	switch v {
	case verdict.Pass:
		return verdict.Fail, append([]string{fmt.Sprintf("expected to fail with a reason matching %q, but the test passed", re)}, reasons...)
	case verdict.Fail:
		for _, r := range reasons {
			if re.MatchString(r) {
				return verdict.Pass, []string{fmt.Sprintf("failed as expected (matching %q): %s", re, r)}
			}
		}
		return verdict.Fail, append([]string{fmt.Sprintf("expected to fail with a reason matching %q, but it failed for other reasons:", re)}, reasons...)
	}
	return v, reasons
}
