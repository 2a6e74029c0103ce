package results

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Threshold says how far a metric may move before the move counts: by
// more than Rel of A's value (0.1 = 10%) and by more than Abs in the
// metric's unit. Both must be exceeded, so tiny values do not flap.
type Threshold struct {
	Rel float64 `json:"rel"`
	Abs float64 `json:"abs"`
}

func (t Threshold) String() string {
	s := strconv.FormatFloat(100*t.Rel, 'f', -1, 64) + "%"
	if t.Abs > 0 {
		s += "," + strconv.FormatFloat(t.Abs, 'f', -1, 64)
	}
	return s
}

// Thresholds are per metric name (cpu_share, wake_p99, ...), for every
// scope. A metric without one gets DefaultThresholds', else FallbackThreshold.
type Thresholds map[string]Threshold

// DefaultThresholds are loose enough for emulated runs, where the noise
// between two runs of the same scheduler is tens of percent for the
// tail metrics, and tight enough that a scheduler that starves a cgroup
// shows.
var DefaultThresholds = Thresholds{
	MetricCPUShare:            {Rel: 0.15, Abs: 0.05},
	MetricWorkRate:            {Rel: 0.15},
	MetricWakeP50:             {Rel: 0.5, Abs: 0.1},
	MetricWakeP99:             {Rel: 0.5, Abs: 1},
	MetricMaxGap:              {Rel: 0.5, Abs: 20},
	MetricMigrationsPerSwitch: {Rel: 0.5, Abs: 0.05},
	MetricCgroupBalance:       {Rel: 0.15, Abs: 0.1},
	MetricMaxImbalance:        {Rel: 0.5, Abs: 1},
	MetricMaxLocalDSQ:         {Rel: 0.5, Abs: 4},
}

// FallbackThreshold is for metrics DefaultThresholds does not name.
var FallbackThreshold = Threshold{Rel: 0.25}

// For returns the threshold of a metric name.
func (t Thresholds) For(name string) Threshold {
	if th, ok := t[name]; ok {
		return th
	}
	if th, ok := DefaultThresholds[name]; ok {
		return th
	}
	return FallbackThreshold
}

// ParseThreshold reads "NAME=REL[,ABS]": "wake_p99=30%", "cpu_share=0.1,0.02".
func ParseThreshold(s string) (string, Threshold, error) {
	name, val, ok := strings.Cut(s, "=")
	if !ok || name == "" || val == "" {
		return "", Threshold{}, fmt.Errorf("threshold %q: want METRIC=REL[,ABS], e.g. wake_p99=30%% or cpu_share=0.1,0.02", s)
	}
	relS, absS, hasAbs := strings.Cut(val, ",")
	var th Threshold
	var err error
	if p, isPct := strings.CutSuffix(relS, "%"); isPct {
		th.Rel, err = strconv.ParseFloat(p, 64)
		th.Rel /= 100
	} else {
		th.Rel, err = strconv.ParseFloat(relS, 64)
	}
	if err != nil || th.Rel < 0 {
		return "", Threshold{}, fmt.Errorf("threshold %q: relative part %q: want a fraction (0.1) or a percentage (10%%)", s, relS)
	}
	if hasAbs {
		if th.Abs, err = strconv.ParseFloat(absS, 64); err != nil || th.Abs < 0 {
			return "", Threshold{}, fmt.Errorf("threshold %q: absolute part %q: want a non-negative number in the metric's unit", s, absS)
		}
	}
	return name, th, nil
}

// Change is how a metric moved from A to B.
type Change string

const (
	Unchanged   Change = ""
	Regression  Change = "regression"
	Improvement Change = "improvement"
	// Changed is a move beyond the threshold of an informational metric.
	Changed Change = "changed"
	// OnlyA and OnlyB mark a metric only one run has.
	OnlyA Change = "only in A"
	OnlyB Change = "only in B"
)

// Delta is one metric of two runs.
type Delta struct {
	Scope     string    `json:"scope"`
	Name      string    `json:"name"`
	A         float64   `json:"a"`
	B         float64   `json:"b"`
	Unit      string    `json:"unit"`
	Polarity  Polarity  `json:"polarity"`
	Threshold Threshold `json:"threshold"`
	Change    Change    `json:"change"`
}

// RelChange is (B-A)/|A|; ±Inf when A is 0 and B is not.
func (d Delta) RelChange() float64 {
	if d.A == 0 {
		if d.B == 0 {
			return 0
		}
		return math.Copysign(math.Inf(1), d.B)
	}
	return (d.B - d.A) / math.Abs(d.A)
}

// Comparison is run B measured against run A.
type Comparison struct {
	// Name is the case compared, for multi-run directories.
	Name string `json:"name,omitempty"`
	// A and B name the runs: their ids, or their directories.
	A string `json:"a"`
	B string `json:"b"`
	// Differences lists the dimensions in which the runs differ.
	Differences []string `json:"differences,omitempty"`
	Deltas      []Delta  `json:"deltas"`
}

// Compare measures b against a metric by metric. th overrides the
// default thresholds (nil: the defaults).
func Compare(a, b *Metrics, th Thresholds) *Comparison {
	c := &Comparison{A: a.ID, B: b.ID, Differences: a.Dimensions.Differences(b.Dimensions)}
	for _, ma := range a.Metrics {
		d := Delta{Scope: ma.Scope, Name: ma.Name, A: ma.Value, Unit: ma.Unit, Polarity: ma.Polarity, Threshold: th.For(ma.Name)}
		mb, ok := b.Get(ma.Scope, ma.Name)
		if !ok {
			d.Change = OnlyA
		} else {
			d.B = mb.Value
			d.Change = judge(d)
		}
		c.Deltas = append(c.Deltas, d)
	}
	for _, mb := range b.Metrics {
		if _, ok := a.Get(mb.Scope, mb.Name); !ok {
			c.Deltas = append(c.Deltas, Delta{Scope: mb.Scope, Name: mb.Name, B: mb.Value, Unit: mb.Unit,
				Polarity: mb.Polarity, Threshold: th.For(mb.Name), Change: OnlyB})
		}
	}
	return c
}

// judge says whether d's move exceeds its threshold, and which way.
func judge(d Delta) Change {
	diff := d.B - d.A
	if math.Abs(diff) <= d.Threshold.Abs || math.Abs(d.RelChange()) <= d.Threshold.Rel {
		return Unchanged
	}
	switch {
	case d.Polarity == HigherIsBetter && diff < 0, d.Polarity == LowerIsBetter && diff > 0:
		return Regression
	case d.Polarity == HigherIsBetter, d.Polarity == LowerIsBetter:
		return Improvement
	}
	return Changed
}

// Regressions are the deltas that got worse beyond their threshold.
func (c *Comparison) Regressions() []Delta { return c.with(Regression) }

// Improvements are the deltas that got better beyond their threshold.
func (c *Comparison) Improvements() []Delta { return c.with(Improvement) }

func (c *Comparison) with(ch Change) []Delta {
	var out []Delta
	for _, d := range c.Deltas {
		if d.Change == ch {
			out = append(out, d)
		}
	}
	return out
}

// WriteText prints the comparison as a table with a closing verdict line.
func (c *Comparison) WriteText(w io.Writer) error {
	title := fmt.Sprintf("A %s\nB %s\n", c.A, c.B)
	if c.Name != "" {
		title = fmt.Sprintf("== %s\n", c.Name) + title
	}
	if _, err := io.WriteString(w, title); err != nil {
		return err
	}
	for _, d := range c.Differences {
		fmt.Fprintf(w, "note: the runs differ in %s\n", d)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scope\tmetric\tA\tB\tchange\tthreshold\t\t")
	for _, d := range c.Deltas {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Scope, d.Name, formatValue(d.A), formatValue(d.B),
			formatChange(d), d.Threshold, arrow(d.Polarity), strings.ToUpper(string(d.Change)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	reg, imp := c.Regressions(), c.Improvements()
	_, err := fmt.Fprintf(w, "%d regression(s)%s, %d improvement(s)%s of B against A\n", len(reg), names(reg), len(imp), names(imp))
	return err
}

// names lists deltas as " (cg_1 cpu_share, overall max_gap)".
func names(ds []Delta) string {
	if len(ds) == 0 {
		return ""
	}
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.Scope + " " + d.Name
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func formatChange(d Delta) string {
	if d.Change == OnlyA || d.Change == OnlyB {
		return "-"
	}
	r := d.RelChange()
	if math.IsInf(r, 0) {
		return "new"
	}
	return fmt.Sprintf("%+.1f%%", 100*r)
}

func arrow(p Polarity) string {
	switch p {
	case HigherIsBetter:
		return "↑"
	case LowerIsBetter:
		return "↓"
	}
	return "·"
}
