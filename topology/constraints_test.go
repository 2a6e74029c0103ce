package topology

import (
	"strings"
	"testing"
)

// Check itself is tested with the presets (preset_test.go); these are
// what a runner and a gauntlet combine constraints with.

func TestConstraintsNameEveryMismatch(t *testing.T) {
	err := Constraints{MinCPUs: 8, MinNUMANodes: 2, SMT: true}.Check(Must("1n1l2c1t"))
	want := "topology 1n1l2c1t does not meet the test's constraints: 2 CPUs, needs at least 8; 1 NUMA nodes, needs at least 2; no SMT, needs SMT"
	if err == nil || err.Error() != want {
		t.Fatalf("Check = %v\nwant %s", err, want)
	}
}

func TestConstraintsValidate(t *testing.T) {
	for _, tc := range []struct {
		c       Constraints
		wantErr string
	}{
		{Constraints{MinCPUs: 2, MaxCPUs: 8}, ""},
		{Constraints{MinLLCs: 4, MaxLLCs: 2}, "at least 4 LLCs but at most 2"},
		{Constraints{MinNUMANodes: -1}, "must not be negative"},
		{Constraints{SMT: true, NoSMT: true}, "both required and forbidden"},
	} {
		err := tc.c.Validate()
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%+v: Validate = %v", tc.c, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%+v: Validate = %v, want %q", tc.c, err, tc.wantErr)
		}
	}
}

func TestConstraintsMerge(t *testing.T) {
	a := Constraints{MinCPUs: 2, MaxCPUs: 16, MaxLLCs: 4}
	b := Constraints{MinCPUs: 4, MaxCPUs: 8, SMT: true}
	got := a.Merge(b)
	want := Constraints{MinCPUs: 4, MaxCPUs: 8, MaxLLCs: 4, SMT: true}
	if got != want {
		t.Fatalf("Merge = %+v, want %+v", got, want)
	}
	if s := got.String(); s != "CPUs>=4 CPUs<=8 LLCs<=4 SMT" {
		t.Errorf("String = %q", s)
	}
	if (Constraints{}).String() != "none" || !(Constraints{}).IsZero() {
		t.Error("zero constraints should read none")
	}
}
