package scenario

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/ktstr-go/ktstr/verdict"
)

// Polarity says which way a metric is better.
type Polarity string

// Polarities.
const (
	// HigherBetter: throughput, operations per second.
	HigherBetter Polarity = "higher_better"
	// LowerBetter: latency, run time.
	LowerBetter Polarity = "lower_better"
	// Informational metrics are reported, never compared.
	Informational Polarity = ""
)

// Aggregate folds a metric that the output gives more than once (one
// line per thread, per round, per JSON record).
type Aggregate string

// Aggregates; the zero value keeps the last value seen.
const (
	AggLast Aggregate = ""
	AggMax  Aggregate = "max"
	AggMin  Aggregate = "min"
	AggMean Aggregate = "mean"
	AggSum  Aggregate = "sum"
)

// Metric declares a number to extract from a payload's output.
type Metric struct {
	// Name is how results and checks name the metric.
	Name string `json:"name"`
	// Key is where the number is: a dotted path into JSON ("a.b.0.c"),
	// the key of a key=value line, or a regular expression's group name.
	// Empty means Name.
	Key      string    `json:"key,omitempty"`
	Unit     string    `json:"unit,omitempty"`
	Polarity Polarity  `json:"polarity,omitempty"`
	Agg      Aggregate `json:"agg,omitempty"`
	// Optional metrics may be absent; a missing required metric fails the
	// payload (the output did not say what the test relies on).
	Optional bool `json:"optional,omitempty"`
}

func (m Metric) key() string {
	if m.Key != "" {
		return m.Key
	}
	return m.Name
}

// MetricValue is one extracted metric.
type MetricValue struct {
	Name     string   `json:"name"`
	Value    float64  `json:"value"`
	Unit     string   `json:"unit,omitempty"`
	Polarity Polarity `json:"polarity,omitempty"`
	// Samples is how many values the output gave before aggregation.
	Samples int `json:"samples"`
}

func (v MetricValue) String() string {
	return strings.TrimSpace(fmt.Sprintf("%s=%s %s", v.Name, formatNumber(v.Value), v.Unit))
}

func formatNumber(x float64) string {
	if x == math.Trunc(x) && math.Abs(x) < 1e15 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.4g", x)
}

// aggregate folds samples as agg says.
func aggregate(agg Aggregate, samples []float64) float64 {
	switch agg {
	case AggMax:
		return slices.Max(samples)
	case AggMin:
		return slices.Min(samples)
	case AggSum, AggMean:
		var s float64
		for _, x := range samples {
			s += x
		}
		if agg == AggMean {
			s /= float64(len(samples))
		}
		return s
	}
	return samples[len(samples)-1]
}

// MetricCheck bounds one metric of a payload (check "metric").
type MetricCheck struct {
	Metric string  `json:"metric"`
	Min    float64 `json:"min,omitempty"`
	Max    float64 `json:"max,omitempty"`
	HasMin bool    `json:"has_min,omitempty"`
	HasMax bool    `json:"has_max,omitempty"`
}

// MetricAtMost fails the payload when metric is above max.
func MetricAtMost(metric string, max float64) MetricCheck {
	return MetricCheck{Metric: metric, Max: max, HasMax: true}
}

// MetricAtLeast fails the payload when metric is below min.
func MetricAtLeast(metric string, min float64) MetricCheck {
	return MetricCheck{Metric: metric, Min: min, HasMin: true}
}

// MetricWithin fails the payload when metric is outside [lo, hi].
func MetricWithin(metric string, lo, hi float64) MetricCheck {
	return MetricCheck{Metric: metric, Min: lo, Max: hi, HasMin: true, HasMax: true}
}

// judge checks the bound against the extracted metrics; a metric the
// output did not give is inconclusive (nothing to judge, and a reason to
// look), never a pass.
func (c MetricCheck) judge(payload string, metrics []MetricValue) Detail {
	d := Detail{Check: "metric", Cgroup: payload, Worker: -1}
	i := slices.IndexFunc(metrics, func(v MetricValue) bool { return v.Name == c.Metric })
	if i < 0 {
		d.Verdict, d.Message = verdict.Inconclusive, fmt.Sprintf("payload %s gave no metric %s to check", payload, c.Metric)
		return d
	}
	v := metrics[i]
	switch {
	case c.HasMin && v.Value < c.Min:
		d.Verdict, d.Message = verdict.Fail, fmt.Sprintf("payload %s: %s below %s %s", payload, v, formatNumber(c.Min), v.Unit)
	case c.HasMax && v.Value > c.Max:
		d.Verdict, d.Message = verdict.Fail, fmt.Sprintf("payload %s: %s above %s %s", payload, v, formatNumber(c.Max), v.Unit)
	default:
		d.Verdict, d.Message = verdict.Pass, v.String()
	}
	return d
}

// CompareMetrics judges candidate's metrics against baseline's (two runs
// of one payload: another scheduler, another kernel): each metric with a
// polarity that got worse by more than maxRegress (a fraction: 0.2 is
// 20%) fails. Metrics either run lacks are inconclusive.
func CompareMetrics(baseline, candidate PayloadResult, maxRegress float64) AssertResult {
	var res AssertResult
	label := fmt.Sprintf("%s: %s vs %s", candidate.Name, candidate.Label, baseline.Label)
	for _, b := range baseline.Metrics {
		if b.Polarity == Informational {
			continue
		}
		d := Detail{Check: "metric_regression", Cgroup: candidate.Name, Worker: -1}
		i := slices.IndexFunc(candidate.Metrics, func(v MetricValue) bool { return v.Name == b.Name })
		if i < 0 {
			d.Verdict, d.Message = verdict.Inconclusive, fmt.Sprintf("%s: %s has no %s", label, candidate.Label, b.Name)
			res.Add(d)
			continue
		}
		c := candidate.Metrics[i]
		worse := Regression(b, c)
		d.Verdict = verdict.Pass
		d.Message = fmt.Sprintf("%s: %s %s -> %s (%+.0f%% worse)", label, b.Name, formatNumber(b.Value), formatNumber(c.Value), 100*worse)
		if worse > maxRegress {
			d.Verdict = verdict.Fail
			d.Message += fmt.Sprintf(", bound %.0f%%", 100*maxRegress)
		}
		res.Add(d)
	}
	return res
}

// Regression is how much worse c is than b as a fraction of b, by b's
// polarity (negative: better); 0 when b is zero or has no polarity.
func Regression(b, c MetricValue) float64 {
	if b.Value == 0 {
		return 0
	}
	switch b.Polarity {
	case LowerBetter:
		return (c.Value - b.Value) / math.Abs(b.Value)
	case HigherBetter:
		return (b.Value - c.Value) / math.Abs(b.Value)
	}
	return 0
}

// FormatMetricTable lays the metrics of several runs of payloads side by
// side, one row per payload metric and one column per run label:
//
//	metric                  unit  better   eevdf   ktstr_fifo
//	hackbench time          s     lower    0.412   0.530
func FormatMetricTable(runs []PayloadResult) string {
	var labels []string
	type row struct {
		payload, metric, unit string
		pol                   Polarity
	}
	var rows []row
	vals := map[row]map[string]float64{}
	for _, r := range runs {
		if !slices.Contains(labels, r.Label) {
			labels = append(labels, r.Label)
		}
		for _, m := range r.Metrics {
			k := row{r.Name, m.Name, m.Unit, m.Polarity}
			if _, ok := vals[k]; !ok {
				rows = append(rows, k)
				vals[k] = map[string]float64{}
			}
			vals[k][r.Label] = m.Value
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-32s %-6s %-7s", "metric", "unit", "better")
	for _, l := range labels {
		fmt.Fprintf(&b, " %14s", l)
	}
	b.WriteByte('\n')
	for _, k := range rows {
		better := map[Polarity]string{HigherBetter: "higher", LowerBetter: "lower"}[k.pol]
		fmt.Fprintf(&b, "%-32s %-6s %-7s", k.payload+" "+k.metric, k.unit, better)
		for _, l := range labels {
			if v, ok := vals[k][l]; ok {
				fmt.Fprintf(&b, " %14s", formatNumber(v))
			} else {
				fmt.Fprintf(&b, " %14s", "-")
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}
