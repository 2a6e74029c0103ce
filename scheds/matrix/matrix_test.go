package matrix

import (
	"regexp"
	"testing"
)

// Every expected reason must compile, and the starvation row must accept
// either check that can name cg_1's starvation first.
func TestMatrixReasons(t *testing.T) {
	for _, r := range Rows {
		if _, err := regexp.Compile(r.Reason); err != nil {
			t.Errorf("%s: reason %q: %v", r.Name, r.Reason, err)
		}
	}
	var starve Row
	for _, r := range Rows {
		if r.Name == "ktstr_starve" {
			starve = r
		}
	}
	re := regexp.MustCompile(starve.Reason)
	for _, reason := range []string{
		"not_stuck fail [cg_1/w0]: tid 71 stuck 6033 ms on cpu0",
		"starvation fail [cg_1/w1]: worker got 6 CPU ticks",
	} {
		if !re.MatchString(reason) {
			t.Errorf("starve row does not accept %q", reason)
		}
	}
	if re.MatchString("not_stuck fail [cg_0/w0]: tid 3 stuck") {
		t.Error("starve row accepts a stuck worker of the other cgroup")
	}
}
