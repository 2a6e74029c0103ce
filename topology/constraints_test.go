package topology

import (
	"strings"
	"testing"
)

func TestConstraintsMismatch(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Constraints
		topo string
		want []string // substrings; none means it fits
	}{
		{"zero fits anything", Constraints{}, "2n4l4c2t", nil},
		{"min CPUs", Constraints{MinCPUs: 4}, "1n1l2c1t", []string{"has 2 CPUs, needs at least 4"}},
		{"max CPUs", Constraints{MaxCPUs: 4}, "1n2l4c1t", []string{"has 8 CPUs, allows at most 4"}},
		{"LLC range fits", Constraints{MinLLCs: 2, MaxLLCs: 4}, "1n2l2c1t", nil},
		{"min LLCs", Constraints{MinLLCs: 2}, "1n1l4c1t", []string{"has 1 LLCs, needs at least 2"}},
		{"max NUMA", Constraints{MaxNUMANodes: 1}, "2n2l2c1t", []string{"has 2 NUMA nodes, allows at most 1"}},
		{"SMT", Constraints{RequireSMT: true}, "1n1l2c1t", []string{"needs SMT (2 threads per core), has 1"}},
		{"SMT fits", Constraints{RequireSMT: true}, "1n1l2c2t", nil},
		{"every mismatch named", Constraints{MinCPUs: 8, MinNUMANodes: 2, RequireSMT: true}, "1n1l2c1t",
			[]string{"topology 1n1l2c1t", "needs at least 8", "needs at least 2", "needs SMT"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.c.Mismatch(Must(tc.topo))
			if len(tc.want) == 0 {
				if got != "" {
					t.Fatalf("Mismatch = %q, want a fit", got)
				}
				return
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("Mismatch = %q, want it to contain %q", got, w)
				}
			}
		})
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
	b := Constraints{MinCPUs: 4, MaxCPUs: 8, RequireSMT: true}
	got := a.Merge(b)
	want := Constraints{MinCPUs: 4, MaxCPUs: 8, MaxLLCs: 4, RequireSMT: true}
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
