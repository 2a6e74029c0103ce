package gauntlet

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/verdict"
	"github.com/ktstr-go/ktstr/vmm"
)

func sampleReport(t *testing.T) *Report {
	vs, _, err := Expand(Selection{
		Tests:   []*ktstr.Test{testOf("sx", fakeSched, topology.Constraints{}), testOf("fair", nil, topology.Constraints{})},
		Presets: presetsOf(t, "pair", "numa2"),
		Flags:   []string{"base"},
		Kernels: kernelsOf("6.12.118", "6.1.192"),
	})
	if err != nil {
		t.Fatal(err)
	}
	r := &Report{Parallelism: 2, Wall: time.Minute}
	for _, v := range vs {
		o := Outcome{Variant: v, Verdict: verdict.Pass, Wall: 12 * time.Second, Scenario: 2 * time.Second}
		switch {
		case v.Skip != "":
			o.Verdict, o.Reasons, o.Wall = verdict.Skip, []string{v.Skip}, 0
		case v.Preset.Name == "numa2" && v.Test.Name == "fair" && v.Kernel.Label == "6.1.192":
			o.Verdict, o.Reasons = verdict.Fail, []string{"cgroup cg_1 got 3% of its share"}
		case v.Preset.Name == "numa2":
			o.Verdict, o.Reasons = verdict.Inconclusive, []string{"inconclusive, host overloaded: ..."}
		}
		r.Outcomes = append(r.Outcomes, o)
	}
	r.Left = vs[:1]
	return r
}

func TestReportTableAndSummary(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport(t).WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	// Compare with single spaces: column widths are tabwriter's business.
	var lines []string
	for _, l := range strings.Split(b.String(), "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	out := strings.Join(lines, "\n")
	for _, want := range []string{
		"TEST PRESET TOPOLOGY FLAGS KERNEL SCHED VERDICT TIME REASON",
		"fair numa2 2n2l2c1t base 6.1.192 cfs fail 12s cgroup cg_1 got 3% of its share",
		"fair numa2 2n2l2c1t base 6.12.118 eevdf inconclusive 12s inconclusive, host overloaded",
		"sx pair 1n1l2c1t base 6.1.192 fake skip - kernel 6.1.192 has no sched_ext",
		"8 variants: 3 pass, 1 fail, 2 inconclusive, 2 skip; 1m0s wall at parallelism 2",
		"left out by the budget (1):\nsx/pair/base/6.12.118",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// Worst first within each dimension: numa2 (1 fail) before pair.
	sum := sampleReport(t).Summary()
	var order []string
	for _, s := range sum {
		order = append(order, s.Dimension+":"+s.Value)
	}
	if got := strings.Join(order, " "); !strings.Contains(got, "preset:numa2 preset:pair") || !strings.Contains(got, "kernel:6.1.192 kernel:6.12.118") || !strings.HasPrefix(got, "test:fair test:sx") {
		t.Errorf("summary order %s", got)
	}
	for _, s := range sum {
		if s.Dimension == "kernel" && s.Value == "6.1.192" && (s.Fail != 1 || s.Skip != 2 || s.Runs != 4) {
			t.Errorf("6.1.192 tally %+v", s)
		}
	}
}

func TestReportJSONAndJUnit(t *testing.T) {
	r := sampleReport(t)
	var j bytes.Buffer
	if err := r.WriteJSON(&j); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Outcomes []struct{ ID, Verdict, Sched string } `json:"outcomes"`
		Left     []string                              `json:"left_out"`
	}
	if err := json.Unmarshal(j.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Outcomes) != 8 || doc.Outcomes[0].ID != "sx/pair/base/6.12.118" || len(doc.Left) != 1 {
		t.Errorf("JSON %+v", doc)
	}
	var x bytes.Buffer
	if err := r.WriteJUnit(&x); err != nil {
		t.Fatal(err)
	}
	var ju struct {
		Suites []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Skipped  int    `xml:"skipped,attr"`
			Cases    []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(x.Bytes(), &ju); err != nil {
		t.Fatalf("JUnit XML: %v\n%s", err, x.String())
	}
	if len(ju.Suites) != 2 || ju.Suites[1].Name != "gauntlet/fair" || ju.Suites[1].Failures != 1 || ju.Suites[1].Skipped != 1 || ju.Suites[0].Skipped != 3 {
		t.Errorf("JUnit suites %+v", ju.Suites)
	}
	if !r.Failed() {
		t.Error("a report with a failure is not Failed")
	}
}

func TestJudgeLoad(t *testing.T) {
	// Two busy CPUs under TCG: the VM could use one host CPU; got 30%.
	starved := &monitor.Report{Interval: 100 * time.Millisecond}
	for i := 0; i < 10; i++ {
		vt := time.Duration(i+1) * 15 * time.Millisecond // 15 ms per vCPU per 100 ms
		c := monitor.CPU{NrRunning: 1, VCPUTime: vt}
		starved.Samples = append(starved.Samples, monitor.Sample{At: time.Duration(i) * 100 * time.Millisecond, CPUs: []monitor.CPU{c, c}})
	}
	res := func(v verdict.Verdict, exit vmm.ExitReason) *ktstr.Result {
		return &ktstr.Result{Verdict: v, Backend: "qemu-tcg", Topology: topology.Must("1n1l2c1t"), Monitor: starved, Exit: vmm.Exit{Reason: exit}, Reasons: []string{"worker stuck 400ms"}}
	}
	v, why, over := judgeLoad(verdict.Fail, []string{"worker stuck 400ms"}, res(verdict.Fail, vmm.ExitClean))
	if v != verdict.Inconclusive || !over || !strings.Contains(why[0], "host overloaded") || !strings.Contains(why[0], "30%") || why[1] != "worker stuck 400ms" {
		t.Errorf("starved failure: %v %q %v", v, why, over)
	}
	if v, _, _ := judgeLoad(verdict.Fail, nil, res(verdict.Fail, vmm.ExitPanic)); v != verdict.Fail {
		t.Errorf("a panic on a starved host became %v", v)
	}
	if v, _, _ := judgeLoad(verdict.Pass, nil, res(verdict.Pass, vmm.ExitClean)); v != verdict.Pass {
		t.Errorf("a pass on a starved host became %v", v)
	}
	kvm := res(verdict.Fail, vmm.ExitClean)
	kvm.Backend = "kvm" // two vCPU threads: 15 of 100 ms each is 15%
	if v, why, _ := judgeLoad(verdict.Fail, nil, kvm); v != verdict.Inconclusive || !strings.Contains(why[0], "15%") {
		t.Errorf("kvm: %v %q", v, why)
	}
	fed := res(verdict.Fail, vmm.ExitClean)
	fed.Monitor = &monitor.Report{Interval: 100 * time.Millisecond}
	for i := 0; i < 10; i++ {
		c := monitor.CPU{NrRunning: 1, VCPUTime: time.Duration(i+1) * 50 * time.Millisecond}
		fed.Monitor.Samples = append(fed.Monitor.Samples, monitor.Sample{At: time.Duration(i) * 100 * time.Millisecond, CPUs: []monitor.CPU{c, c}})
	}
	if v, _, over := judgeLoad(verdict.Fail, nil, fed); v != verdict.Fail || over {
		t.Errorf("a failure on a host that gave the VM all it could use became %v", v)
	}
}
