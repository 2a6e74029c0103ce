package gauntlet

import (
	"strings"
	"sync"
	"testing"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/topology"
)

// The subtest tree carries every dimension in each case's name, one level
// per dimension, in expansion order.
func TestTreeNames(t *testing.T) {
	vs, _, err := Expand(Selection{
		Tests:   []*ktstr.Test{testOf("sx", fakeSched, topology.Constraints{})},
		Presets: presetsOf(t, "smt-pair", "2llc"),
		Flags:   []string{"base", "a+b"},
		Kernels: kernelsOf("6.12.118", "6.1.192"),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, withTest := range []bool{false, true} {
		var mu sync.Mutex
		var got []string
		p := &prepared{runLeaf: func(t *testing.T, v Variant) {
			mu.Lock()
			defer mu.Unlock()
			want := v.Path()
			if withTest {
				want = v.ID()
			}
			if !strings.HasSuffix(t.Name(), "/"+want) {
				t.Errorf("case %s runs variant %s", t.Name(), want)
			}
			got = append(got, t.Name())
		}}
		name := map[bool]string{false: "tree", true: "withtest"}[withTest]
		t.Run(name, func(t *testing.T) { tree(t, p, vs, withTest) })
		prefix := "TestTreeNames/" + name + "/"
		if withTest {
			prefix += "sx/"
		}
		if len(got) != 8 || got[0] != prefix+"smt-pair/base/6.12.118" || got[7] != prefix+"2llc/a+b/6.1.192" {
			t.Errorf("withTest=%v cases %q", withTest, got)
		}
	}
}

func TestCheckExpected(t *testing.T) {
	vs, _, _ := Expand(Selection{Tests: []*ktstr.Test{testOf("sx", nil, topology.Constraints{})}, Presets: presetsOf(t, "pair"), Kernels: kernelsOf("6.12")})
	t.Setenv(EnvExpect, "sx/pair/base/6.12")
	if err := checkExpected(vs, true); err != nil {
		t.Errorf("present case: %v", err)
	}
	t.Setenv(EnvExpect, "sx/numa2/base/6.12")
	if err := checkExpected(vs, true); err == nil || !strings.Contains(err.Error(), "stale") {
		t.Errorf("absent case: %v", err)
	}
}

func TestWriteBzl(t *testing.T) {
	var b strings.Builder
	tests := []*ktstr.Test{testOf("sx", fakeSched, topology.Constraints{MinCPUs: 64}), testOf("fair", nil, topology.Constraints{MaxCPUs: 1})}
	if err := WriteBzl(&b, tests); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		`"sx": {` + "\n" + `        "sched": "fake",`,
		`("max", "4n8l4c2t", "a,b"),`,
		`("max-flat", "1n4l16c1t", ""),`,
		`"fair": {` + "\n" + `        "sched": "",` + "\n" + `        "variants": [` + "\n" + `            ("single", "1n1l1c1t", ""),` + "\n" + `        ],`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("bzl lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "            (\"") != 2*3+1 {
		t.Errorf("bzl has %d variants, want 7 (2 presets x 3 flag sets, 1)", strings.Count(out, "            (\""))
	}
}
