package scenario

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Verdict is the outcome of a check. Verdicts form a lattice ordered
// Skip < Pass < Inconclusive < Fail: merging keeps the worst.
type Verdict int

// Verdicts, from least to most severe.
const (
	Skip Verdict = iota
	Pass
	Inconclusive
	Fail
)

var verdictNames = [...]string{"skip", "pass", "inconclusive", "fail"}

// String is the lower-case name the host protocol uses.
func (v Verdict) String() string {
	if v < 0 || int(v) >= len(verdictNames) {
		return fmt.Sprintf("verdict(%d)", int(v))
	}
	return verdictNames[v]
}

// Merge returns the more severe of v and o.
func (v Verdict) Merge(o Verdict) Verdict { return max(v, o) }

// MarshalJSON encodes the name.
func (v Verdict) MarshalJSON() ([]byte, error) { return json.Marshal(v.String()) }

// UnmarshalJSON decodes the name.
func (v *Verdict) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	for i, n := range verdictNames {
		if n == s {
			*v = Verdict(i)
			return nil
		}
	}
	return fmt.Errorf("unknown verdict %q", s)
}

// Detail is one finding of one check.
type Detail struct {
	Check   string  `json:"check"` // e.g. "not_stuck", "isolation"
	Verdict Verdict `json:"verdict"`
	Cgroup  string  `json:"cgroup,omitempty"`
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
	Verdict Verdict `json:"verdict"`
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
	case Skip:
		r.Skipped = append(r.Skipped, d)
	case Pass:
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
		if d.Verdict == Fail {
			out = append(out, d)
		}
	}
	return out
}

// Err returns nil unless the verdict is Fail; then a *CheckError listing
// every failure.
func (r AssertResult) Err() error {
	if r.Verdict != Fail {
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
