package scenario

import (
	"errors"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/verdict"
)

func TestAssertResultMerge(t *testing.T) {
	var a, b AssertResult
	a.Add(Detail{Check: "x", Verdict: verdict.Pass, Worker: 0})
	if a.Verdict != verdict.Pass || len(a.Details) != 0 || a.Checks["x"] != 1 {
		t.Fatalf("after a pass: %+v", a)
	}
	if a.Err() != nil {
		t.Error("a passing result has an error")
	}
	a.Add(Detail{Check: "y", Verdict: verdict.Inconclusive, Message: "too short", Worker: -1})
	b.Add(Detail{Check: "isolation", Verdict: verdict.Fail, Cgroup: "cg_0", Worker: 1, Message: "ran on cpu3"})
	b.Add(Detail{Check: "not_stuck", Verdict: verdict.Fail, Cgroup: "cg_1", Worker: 0, Message: "tid 9 stuck"})
	b.Add(Detail{Check: "x", Verdict: verdict.Skip, Worker: 0})
	a.Merge(b)
	if a.Verdict != verdict.Fail {
		t.Errorf("verdict %s, want fail", a.Verdict)
	}
	if len(a.Details) != 3 || len(a.Failures()) != 2 || len(a.Skipped) != 1 {
		t.Errorf("details %d failures %d skipped %d, want 3, 2, 1: %+v", len(a.Details), len(a.Failures()), len(a.Skipped), a.Details)
	}
	if a.Checks["x"] != 2 || a.Checks["isolation"] != 1 {
		t.Errorf("check counts %v", a.Checks)
	}
	err := a.Err()
	var ce *CheckError
	if !errors.As(err, &ce) {
		t.Fatalf("Err() = %v, want a *CheckError", err)
	}
	msg := err.Error()
	for _, want := range []string{"2 check(s) failed", "isolation fail [cg_0/w1]: ran on cpu3", "not_stuck fail [cg_1/w0]: tid 9 stuck"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "too short") {
		t.Errorf("error lists non-failures: %q", msg)
	}
}

func TestInconclusiveIsNotAnError(t *testing.T) {
	var r AssertResult
	r.Add(Detail{Check: "fairness", Verdict: verdict.Inconclusive, Worker: -1})
	if r.Err() != nil || r.Verdict != verdict.Inconclusive {
		t.Errorf("inconclusive: verdict %s err %v", r.Verdict, r.Err())
	}
}
