package verdict

import (
	"encoding/json"
	"testing"
)

func TestVerdictLattice(t *testing.T) {
	all := []Verdict{Skip, Pass, Inconclusive, Fail}
	for i, a := range all {
		for j, b := range all {
			want := all[max(i, j)]
			if got := a.Merge(b); got != want {
				t.Errorf("%s.Merge(%s) = %s, want %s", a, b, got, want)
			}
			if a.Merge(b) != b.Merge(a) {
				t.Errorf("merge of %s and %s is not commutative", a, b)
			}
		}
	}
	for _, v := range all {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var back Verdict
		if err := json.Unmarshal(b, &back); err != nil || back != v {
			t.Errorf("round trip of %s: %s -> %s %v", v, b, back, err)
		}
	}
	var v Verdict
	if err := json.Unmarshal([]byte(`"meh"`), &v); err == nil {
		t.Error("unknown verdict name accepted")
	}
}
