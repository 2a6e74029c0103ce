package results

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func metricsOf(t *testing.T, f fixture) *Metrics {
	t.Helper()
	r := synthRun(t, f)
	v := newView(r)
	return &Metrics{ID: NewID(r.Test, r.Started), Dimensions: r.Dimensions(), Metrics: computeMetrics(v)}
}

func keys(ds []Delta) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Scope+"/"+d.Name)
	}
	return out
}

func TestCompare(t *testing.T) {
	fair, unfair := metricsOf(t, fixture{cg1Share: 0.5}), metricsOf(t, fixture{cg1Share: 0.05})
	tests := []struct {
		name       string
		a, b       *Metrics
		th         Thresholds
		regressed  []string
		improved   []string
		unexpected []string // must not be flagged
	}{
		{name: "itself", a: fair, b: fair},
		{name: "fair to unfair", a: fair, b: unfair,
			regressed:  []string{"cg_1/cpu_share", "overall/cgroup_balance", "cg_1/work_rate", "cg_1/wake_p99", "overall/wake_p99"},
			improved:   []string{"cg_0/cpu_share", "cg_0/work_rate"},
			unexpected: []string{"overall/cpu_share", "overall/max_gap"}},
		{name: "unfair to fair", a: unfair, b: fair,
			regressed: []string{"cg_0/cpu_share", "cg_0/work_rate"},
			improved:  []string{"cg_1/cpu_share", "overall/cgroup_balance"}},
		{name: "loose thresholds", a: fair, b: unfair,
			th:        Thresholds{MetricCPUShare: {Rel: 10}, MetricCgroupBalance: {Rel: 10}, MetricWorkRate: {Rel: 10}, MetricWakeP99: {Rel: 100}},
			regressed: nil, unexpected: []string{"cg_1/cpu_share", "overall/cgroup_balance"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Compare(tc.a, tc.b, tc.th)
			reg, imp := strings.Join(keys(c.Regressions()), " "), strings.Join(keys(c.Improvements()), " ")
			if len(tc.regressed) == 0 && reg != "" {
				t.Errorf("regressions %s, want none", reg)
			}
			for _, k := range tc.regressed {
				if !strings.Contains(" "+reg+" ", " "+k+" ") {
					t.Errorf("%s not a regression (regressions: %s)", k, reg)
				}
			}
			for _, k := range tc.improved {
				if !strings.Contains(" "+imp+" ", " "+k+" ") {
					t.Errorf("%s not an improvement (improvements: %s)", k, imp)
				}
			}
			for _, k := range tc.unexpected {
				if strings.Contains(" "+reg+" "+imp+" ", " "+k+" ") {
					t.Errorf("%s flagged, want unchanged", k)
				}
			}
		})
	}
}

func TestCompareOnlyInOne(t *testing.T) {
	a := &Metrics{Metrics: []Metric{{Overall, "x", 1, unitRatio, HigherIsBetter}}}
	b := &Metrics{Metrics: []Metric{{Overall, "y", 1, unitRatio, HigherIsBetter}}}
	c := Compare(a, b, nil)
	if len(c.Deltas) != 2 || c.Deltas[0].Change != OnlyA || c.Deltas[1].Change != OnlyB || len(c.Regressions()) != 0 {
		t.Errorf("deltas = %+v", c.Deltas)
	}
}

func TestJudge(t *testing.T) {
	th := Threshold{Rel: 0.1, Abs: 1}
	tests := []struct {
		a, b float64
		p    Polarity
		want Change
	}{
		{10, 10, HigherIsBetter, Unchanged},
		{10, 10.9, LowerIsBetter, Unchanged}, // under Abs
		{100, 105, LowerIsBetter, Unchanged}, // under Rel
		{100, 120, LowerIsBetter, Regression},
		{100, 120, HigherIsBetter, Improvement},
		{100, 80, HigherIsBetter, Regression},
		{100, 80, Informational, Changed},
		{0, 5, LowerIsBetter, Regression}, // from nothing
	}
	for _, tc := range tests {
		if got := judge(Delta{A: tc.a, B: tc.b, Polarity: tc.p, Threshold: th}); got != tc.want {
			t.Errorf("%v -> %v (%s): %q, want %q", tc.a, tc.b, tc.p, got, tc.want)
		}
	}
}

func TestParseThreshold(t *testing.T) {
	tests := []struct {
		in      string
		name    string
		want    Threshold
		wantErr bool
	}{
		{"wake_p99=30%", "wake_p99", Threshold{Rel: 0.3}, false},
		{"cpu_share=0.1,0.02", "cpu_share", Threshold{Rel: 0.1, Abs: 0.02}, false},
		{"max_gap=50%,5", "max_gap", Threshold{Rel: 0.5, Abs: 5}, false},
		{"wake_p99", "", Threshold{}, true},
		{"=10%", "", Threshold{}, true},
		{"x=ten", "", Threshold{}, true},
		{"x=10%,-1", "", Threshold{}, true},
	}
	for _, tc := range tests {
		name, th, err := ParseThreshold(tc.in)
		if (err != nil) != tc.wantErr || name != tc.name || th != tc.want {
			t.Errorf("ParseThreshold(%q) = %q, %+v, %v", tc.in, name, th, err)
		}
	}
}

func TestCompareText(t *testing.T) {
	var b bytes.Buffer
	c := Compare(metricsOf(t, fixture{cg1Share: 0.5}), metricsOf(t, fixture{cg1Share: 0.05}), nil)
	if err := c.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"cg_1", "cpu_share", "-90.0%", "REGRESSION", "IMPROVEMENT", "regression(s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("comparison text lacks %q:\n%s", want, out)
		}
	}
}

// Two multi-run directories compare case by case.
func TestCompareDirs(t *testing.T) {
	mk := func(share float64) string {
		root := t.TempDir()
		for _, name := range []string{"a", "b"} {
			if err := Write(filepath.Join(root, name), synthRun(t, fixture{cg1Share: share})); err != nil {
				t.Fatal(err)
			}
		}
		if err := WriteIndex(root, "m", []IndexCase{{Name: "a", Dir: "a"}, {Name: "b", Dir: "b"}}); err != nil {
			t.Fatal(err)
		}
		return root
	}
	x, y := mk(0.5), mk(0.05)
	cs, err := CompareDirs(x, y, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].Name != "a" || len(cs[0].Regressions()) == 0 {
		t.Errorf("comparisons = %d, first %q with %d regressions", len(cs), cs[0].Name, len(cs[0].Regressions()))
	}
	if _, err := CompareDirs(x, filepath.Join(y, "a"), nil); err == nil {
		t.Error("comparing a multi-run directory with a run: no error")
	}
	if _, err := CompareDirs(x, os.TempDir(), nil); err == nil {
		t.Error("comparing with a non-results directory: no error")
	}
}
