package scenario

import (
	"fmt"
	"strings"

	"github.com/ktstr-go/ktstr/verdict"
)

// Detail is one finding of one check.
type Detail struct {
	Check   string          `json:"check"` // e.g. "not_stuck", "isolation"
	Verdict verdict.Verdict `json:"verdict"`
	Cgroup  string          `json:"cgroup,omitempty"`
	// Worker is the worker's index in its cgroup, -1 when not per worker.
	Worker  int    `json:"worker"`
	TID     int    `json:"tid,omitempty"`
	Message string `json:"message"`
}

// String formats the detail for a failure message.
func (d Detail) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", d.Check, d.Verdict)
	if d.Cgroup != "" {
		fmt.Fprintf(&b, " [%s", d.Cgroup)
		if d.Worker >= 0 {
			fmt.Fprintf(&b, "/w%d", d.Worker)
		}
		b.WriteByte(']')
	}
	return b.String() + ": " + d.Message
}

// AssertResult is the merged outcome of checks: the worst verdict, every
// failing or inconclusive finding (not just the first), the skipped ones,
// and how often each check ran.
type AssertResult struct {
	Verdict verdict.Verdict `json:"verdict"`
	// Details are the Fail and Inconclusive findings.
	Details []Detail `json:"details,omitempty"`
	// Skipped are checks that did not apply (e.g. isolation without a
	// cpuset); informational.
	Skipped []Detail `json:"skipped,omitempty"`
	// Checks counts how many times each check ran.
	Checks map[string]int `json:"checks,omitempty"`
}

// Add records one finding and raises the verdict accordingly. Passing
// findings only count the check.
func (r *AssertResult) Add(d Detail) {
	if r.Checks == nil {
		r.Checks = map[string]int{}
	}
	r.Checks[d.Check]++
	r.Verdict = r.Verdict.Merge(d.Verdict)
	switch d.Verdict {
	case verdict.Skip:
		r.Skipped = append(r.Skipped, d)
	case verdict.Pass:
	default:
		r.Details = append(r.Details, d)
	}
}

// Merge folds o into r.
func (r *AssertResult) Merge(o AssertResult) {
	r.Verdict = r.Verdict.Merge(o.Verdict)
	r.Details = append(r.Details, o.Details...)
	r.Skipped = append(r.Skipped, o.Skipped...)
	for k, n := range o.Checks {
		if r.Checks == nil {
			r.Checks = map[string]int{}
		}
		r.Checks[k] += n
	}
}

// Failures returns the details at verdict Fail.
func (r AssertResult) Failures() []Detail {
	var out []Detail
	for _, d := range r.Details {
		if d.Verdict == verdict.Fail {
			out = append(out, d)
		}
	}
	return out
}

// Err returns nil unless the verdict is Fail; then a *CheckError listing
// every failure.
func (r AssertResult) Err() error {
	if r.Verdict != verdict.Fail {
		return nil
	}
	return &CheckError{Result: r}
}

// CheckError is the error ExecuteDefs, ExecuteSteps and AssertResult.Err
// return when checks fail.
type CheckError struct{ Result AssertResult }

func (e *CheckError) Error() string {
	fails := e.Result.Failures()
	lines := make([]string, len(fails))
	for i, d := range fails {
		lines[i] = d.String()
	}
	return fmt.Sprintf("%d check(s) failed:\n  %s", len(fails), strings.Join(lines, "\n  "))
}
