package results

import (
	"math"
	"testing"

	"github.com/ktstr-go/ktstr/scenario"
)

func TestMetrics(t *testing.T) {
	ms := computeMetrics(newView(synthRun(t, fixture{cg1Share: 0.2})))
	got := map[string]Metric{}
	for _, m := range ms {
		got[m.Key()] = m
	}
	tests := []struct {
		key      string
		value    float64
		polarity Polarity
	}{
		{"overall/cpu_share", 0.5, HigherIsBetter},
		{"cg_0/cpu_share", 0.8, HigherIsBetter},
		{"cg_1/cpu_share", 0.2, HigherIsBetter},
		{"overall/cgroup_balance", 0.25, HigherIsBetter},
		{"cg_0/work_rate", 1600, HigherIsBetter},
		{"cg_1/wake_p99", 10, LowerIsBetter},
		{"overall/wake_p99", 10, LowerIsBetter},
		{"cg_0/wake_p50", 0.2, LowerIsBetter},
		{"overall/max_gap", 40, LowerIsBetter},
		{"overall/migrations_per_switch", 0.05, LowerIsBetter},
		{"overall/max_nr_running", 5, Informational},
		{"overall/max_imbalance", 5, LowerIsBetter},
		{"overall/max_local_dsq", 0, LowerIsBetter},
	}
	for _, tc := range tests {
		m, ok := got[tc.key]
		if !ok {
			t.Errorf("no metric %s", tc.key)
			continue
		}
		if math.Abs(m.Value-tc.value) > 1e-9 || m.Polarity != tc.polarity {
			t.Errorf("%s = %v (%s), want %v (%s)", tc.key, m.Value, m.Polarity, tc.value, tc.polarity)
		}
	}
}

// A run without workers or monitor has no metrics to invent.
func TestMetricsEmpty(t *testing.T) {
	r := synthRun(t, fixture{cg1Share: 0.5})
	r.Records, r.Monitor = nil, nil
	if ms := computeMetrics(newView(r)); len(ms) != 0 {
		t.Errorf("metrics of an empty run: %v", ms)
	}
}

// Only cgroups running the same load are weighed against each other: a
// cgroup of sleeping workers is not short-changed next to spinning ones.
func TestCgroupBalancePeers(t *testing.T) {
	spin := scenario.WorkerReport{Type: scenario.SpinWork}
	mixed := scenario.WorkerReport{Type: scenario.MixedWork}
	byCgroup := map[string][]scenario.WorkerReport{
		"a": {spin, spin}, "b": {spin, spin}, "c": {mixed}, "d": {spin},
	}
	shares := map[string]float64{"a": 0.5, "b": 0.25, "c": 0.05, "d": 0.01}
	if got, ok := cgroupBalance([]string{"a", "b", "c", "d"}, byCgroup, shares); !ok || got != 0.5 {
		t.Errorf("balance = %v, %v; want 0.5 (a against b only)", got, ok)
	}
	if _, ok := cgroupBalance([]string{"a", "c"}, byCgroup, shares); ok {
		t.Error("a balance between cgroups running different loads")
	}
}
