// Package verdict is the one outcome type of ktstr-go: a check, a test
// body, a whole VM run, the ktstr command and an exported .run file all
// say skip, pass, inconclusive or fail with it. Verdicts form a lattice
// (Skip < Pass < Inconclusive < Fail) so combining findings keeps the
// worst, and they travel as their lower-case names in JSON, which is what
// the guest's records, result files and --json output carry.
package verdict

import (
	"encoding/json"
	"fmt"
)

// Verdict is the outcome of a check, a test or a run. Verdicts form a lattice ordered
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
	p, err := Parse(s)
	if err != nil {
		return err
	}
	*v = p
	return nil
}

// Parse reads a verdict by its lower-case name.
func Parse(s string) (Verdict, error) {
	for i, n := range verdictNames {
		if n == s {
			return Verdict(i), nil
		}
	}
	return Skip, fmt.Errorf("unknown verdict %q: want skip, pass, inconclusive or fail", s)
}
