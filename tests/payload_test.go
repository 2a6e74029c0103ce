package tests

import (
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/scheds"
	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/verdict"
)

// Benchmarks from Debian's rt-tests and stress-ng (tools/setup/
// install-deps.sh), sized for an emulated 2-CPU guest.
var (
	hackbench = scenario.Payload{
		Program: "hackbench", Args: []string{"-g", "2", "-f", "4", "-l", "50"},
		Format:  scenario.RegexpOutput(`^Time: (?P<time>[0-9.]+)`),
		Metrics: []scenario.Metric{{Name: "time", Unit: "s", Polarity: scenario.LowerBetter}},
	}
	// cyclictest at SCHED_OTHER (priority 0), so the scheduler under
	// test, not the RT class, decides its wake-ups.
	cyclictest = scenario.Payload{
		Program: "cyclictest", Args: []string{"-q", "-t", "2", "-p", "0", "-i", "2000", "-l", "500"},
		Format: scenario.RegexpOutput(`Avg:\s*(?P<avg>\d+)\s+Max:\s*(?P<max>\d+)`),
		Metrics: []scenario.Metric{
			{Name: "avg_latency", Key: "avg", Unit: "us", Polarity: scenario.LowerBetter, Agg: scenario.AggMean},
			{Name: "max_latency", Key: "max", Unit: "us", Polarity: scenario.LowerBetter, Agg: scenario.AggMax},
		},
	}
	stressng = scenario.Payload{
		Program: "stress-ng", Args: []string{"--cpu", "2", "--timeout", "2s", "--metrics-brief"},
		Format: scenario.RegexpOutput(`\] cpu\s+(?P<bogo_ops>\d+)\s+[0-9.]+\s+[0-9.]+\s+[0-9.]+\s+(?P<rate>[0-9.]+)`),
		Metrics: []scenario.Metric{
			{Name: "bogo_ops", Polarity: scenario.HigherBetter},
			{Name: "bogo_ops_per_s", Key: "rate", Unit: "ops/s", Polarity: scenario.HigherBetter},
		},
	}
)

func benchIncludes() []string {
	var inc []string
	for _, p := range []scenario.Payload{hackbench, cyclictest, stressng} {
		inc = append(inc, p.Includes()...)
	}
	return inc
}

// benchBody runs the benchmarks alone, then cyclictest beside two CPU
// hogs.
func benchBody(ctx *scenario.Ctx) error {
	return scenario.ExecuteSteps(ctx,
		scenario.Step{Name: "alone", Ops: []scenario.Op{scenario.RunPayload(hackbench), scenario.RunPayload(stressng)}},
		scenario.Step{Name: "beside workers",
			Defs: []scenario.CgroupDef{scenario.Cgroup("hogs").Workers(2)},
			Ops:  []scenario.Op{scenario.RunPayload(cyclictest)}})
}

// TestPayloadBenchmarks runs hackbench, stress-ng and cyclictest under
// EEVDF and under the in-repo FIFO sched_ext scheduler, extracts their
// metrics and compares the two runs in one table.
func TestPayloadBenchmarks(t *testing.T) {
	runs := map[string]*ktstr.Result{}
	for _, c := range []struct {
		label string
		sched *scheds.Scheduler
	}{{"eevdf", nil}, {"ktstr_fifo", scheds.FIFO}} {
		t.Run(c.label, func(t *testing.T) {
			res := ktstr.RunResult(t, ktstr.Opts{Topology: topology.Must("1n1l2c1t"), Scheduler: c.sched,
				Includes: benchIncludes(), Timeout: 4 * time.Minute}, benchBody)
			if res == nil {
				return // in the guest
			}
			runs[c.label] = res
			if !res.Passed() {
				t.Fatalf("%s: %s\n  %s", c.label, res.Verdict, strings.Join(res.Reasons, "\n  "))
			}
		})
	}
	if len(runs) < 2 {
		return
	}
	var all []scenario.PayloadResult
	byLabel := map[string]map[string]scenario.PayloadResult{}
	for label, res := range runs {
		prs, err := scenario.PayloadResults(res.Records)
		if err != nil {
			t.Fatal(err)
		}
		byLabel[label] = map[string]scenario.PayloadResult{}
		for _, pr := range prs {
			if pr.Label != label {
				t.Errorf("payload %s ran under %q, want %q", pr.Name, pr.Label, label)
			}
			byLabel[label][pr.Name] = pr
		}
	}
	for _, name := range []string{"hackbench", "stress-ng", "cyclictest"} {
		for _, label := range []string{"eevdf", "ktstr_fifo"} {
			pr, ok := byLabel[label][name]
			if !ok {
				t.Errorf("%s: no %s result", label, name)
				continue
			}
			if len(pr.Metrics) == 0 || pr.Verdict != verdict.Pass {
				t.Errorf("%s under %s: %s, metrics %v, %s", name, label, pr.Verdict, pr.Metrics, pr.Error)
			}
			all = append(all, pr)
		}
		// Relative to EEVDF: reported, not judged (emulation noise is
		// larger than any difference a 2-CPU FIFO makes).
		base, cand := byLabel["eevdf"][name], byLabel["ktstr_fifo"][name]
		if cmp := scenario.CompareMetrics(base, cand, 100); cmp.Verdict != verdict.Pass {
			t.Errorf("comparing %s: %s %v", name, cmp.Verdict, cmp.Details)
		}
		for _, b := range base.Metrics {
			if c, ok := cand.Metric(b.Name); ok && b.Polarity != scenario.Informational {
				t.Logf("%s %s: ktstr_fifo %+.0f%% worse than eevdf", name, b.Name, 100*scenario.Regression(b, c))
			}
		}
	}
	t.Logf("benchmarks, EEVDF vs sched_ext (ktstr_fifo), 1n1l2c1t:\n%s", scenario.FormatMetricTable(all))
}

// TestPayloadUnreadableOutput: hackbench read as key=value cannot be
// read; the run fails naming the line.
func TestPayloadUnreadableOutput(t *testing.T) {
	misread := hackbench
	misread.Format = scenario.KeyValueOutput("")
	misread.Metrics = []scenario.Metric{{Name: "Time"}}
	res := ktstr.RunResult(t, ktstr.Opts{Includes: misread.Includes(), Timeout: 3 * time.Minute}, func(ctx *scenario.Ctx) error {
		_, err := ctx.RunPayload(misread)
		return err
	})
	if res == nil {
		return
	}
	// Line 1, "Running in process mode ... (== 16 tasks)", holds an '='.
	const want = `payload hackbench: output could not be read: line 2 "Each sender will pass 50 messages of 100 bytes": not key=value`
	all := strings.Join(res.Reasons, "\n")
	if res.Verdict != verdict.Fail || !strings.Contains(all, want) {
		t.Fatalf("verdict %s, reasons lack %q:\n%s", res.Verdict, want, all)
	}
	t.Logf("failed as it must: %s", all)
}
