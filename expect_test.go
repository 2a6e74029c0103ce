package ktstr

import (
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/verdict"
)

func TestExpectFailure(t *testing.T) {
	re, err := compileExpectFail(`runnable task stall|failed to run for`)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		v       verdict.Verdict
		reasons []string
		want    verdict.Verdict
		first   string
	}{
		{"stated reason", verdict.Fail, []string{"worker 3 stuck", "scheduler ktstr_stall died after 2.1s: runnable task stall"},
			verdict.Pass, `failed as expected (matching "runnable task stall|failed to run for"): scheduler ktstr_stall died`},
		{"other reason", verdict.Fail, []string{"guest kernel panicked: oops"}, verdict.Fail, "but it failed for other reasons:"},
		{"passed", verdict.Pass, nil, verdict.Fail, "but the test passed"},
		{"skipped stays", verdict.Skip, []string{"topology 1n1l2c1t has 2 CPUs"}, verdict.Skip, "topology"},
		{"inconclusive stays", verdict.Inconclusive, []string{"host channel: EOF"}, verdict.Inconclusive, "host channel"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, reasons := expectFailure(re, tc.v, tc.reasons)
			if v != tc.want || len(reasons) == 0 || !strings.Contains(reasons[0], tc.first) {
				t.Fatalf("expectFailure = %s %q, want %s with %q first", v, reasons, tc.want, tc.first)
			}
		})
	}
	if v, r := expectFailure(nil, verdict.Pass, nil); v != verdict.Pass || r != nil {
		t.Errorf("no expectation changed the verdict: %s %v", v, r)
	}
	if _, err := compileExpectFail("("); err == nil || !strings.Contains(err.Error(), "ExpectFail") {
		t.Errorf("bad pattern: %v", err)
	}
}
