package gauntlet

import (
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/topology"
)

func TestExpand(t *testing.T) {
	tests := []*ktstr.Test{
		testOf("sx", fakeSched, topology.Constraints{}),
		testOf("fair", nil, topology.Constraints{MinLLCs: 2}),
	}
	vs, excl, err := Expand(Selection{Tests: tests, Presets: presetsOf(t, "pair", "2llc"), Kernels: kernelsOf("6.12.118", "6.1.192")})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range vs {
		s := v.ID()
		if v.Skip != "" {
			s += " SKIP"
		}
		got = append(got, s)
	}
	want := []string{
		"sx/pair/base/6.12.118", "sx/pair/base/6.1.192 SKIP",
		"sx/pair/a/6.12.118", "sx/pair/a/6.1.192 SKIP",
		"sx/pair/a+b/6.12.118", "sx/pair/a+b/6.1.192 SKIP",
		"sx/2llc/base/6.12.118", "sx/2llc/base/6.1.192 SKIP",
		"sx/2llc/a/6.12.118", "sx/2llc/a/6.1.192 SKIP",
		"sx/2llc/a+b/6.12.118", "sx/2llc/a+b/6.1.192 SKIP",
		"fair/2llc/base/6.12.118", "fair/2llc/base/6.1.192",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("variants:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(excl) != 1 || excl[0].Test != "fair" || !strings.Contains(excl[0].Why, "1 LLCs, needs at least 2") {
		t.Errorf("exclusions %+v, want fair's pair preset for its LLC constraint", excl)
	}
	for _, v := range vs {
		if v.Skip != "" && !strings.Contains(v.Skip, "no sched_ext") {
			t.Errorf("%s skips for %q, want the missing sched_ext named", v.ID(), v.Skip)
		}
	}
	if vs[len(vs)-1].SchedName() != "cfs" || vs[len(vs)-2].SchedName() != "eevdf" {
		t.Errorf("fair class on 6.1 %q, on 6.12 %q; want cfs, eevdf", vs[len(vs)-1].SchedName(), vs[len(vs)-2].SchedName())
	}
}

func TestExpandFlagsFilter(t *testing.T) {
	tests := []*ktstr.Test{testOf("sx", fakeSched, topology.Constraints{})}
	vs, _, err := Expand(Selection{Tests: tests, Presets: presetsOf(t, "pair"), Flags: []string{"a+b"}, Kernels: kernelsOf("6.12.118")})
	if err != nil || len(vs) != 1 || vs[0].FlagsName() != "a+b" {
		t.Fatalf("flags filter a+b: %v, %v", vs, err)
	}
	if _, _, err := Expand(Selection{Tests: tests, Flags: []string{"b+a"}, Kernels: kernelsOf("6.12.118")}); err == nil || !strings.Contains(err.Error(), "b+a") {
		t.Fatalf("unknown combination: %v", err)
	}
	if _, _, err := Expand(Selection{Tests: tests}); err == nil {
		t.Fatal("no kernels: no error")
	}
}
