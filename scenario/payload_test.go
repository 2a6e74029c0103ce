package scenario

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr/verdict"
)

// selftestOutput is what the kernel's sched_ext selftest runner prints
// (6.12, runner.c), shortened.
const selftestOutput = `===== START =====
TEST: create_dsq
DESCRIPTION: Create and destroy a dsq in a loop
OUTPUT:
ok 1 create_dsq # 
=====  END  =====

===== START =====
TEST: enq_last_no_enq_fails
DESCRIPTION: Verify we fail to load a scheduler if we specify the SCX_OPS_ENQ_LAST flag without defining ops.enqueue()
OUTPUT:
libbpf: struct_ops init_kern enq_last_no_enq_fails_ops: ...
ok 2 enq_last_no_enq_fails # 
=====  END  =====

===== START =====
TEST: hotplug
DESCRIPTION: Verify hotplug behavior
OUTPUT:
ok 3 hotplug # SKIP 
=====  END  =====

===== START =====
TEST: select_cpu_vtime
DESCRIPTION: Test vtime dispatch
OUTPUT:
ERR: select_cpu_vtime.c:45
Expected skel->data->consumed (0) != 0
not ok 4 select_cpu_vtime # 
=====  END  =====


=============================

RESULTS:

PASSED:  2
SKIPPED: 1
FAILED:  1
`

func TestParseTAPSelftests(t *testing.T) {
	cases, plan, err := parseTAP([]byte(selftestOutput))
	if err != nil {
		t.Fatal(err)
	}
	if plan != -1 || len(cases) != 4 {
		t.Fatalf("plan %d, %d cases: %+v", plan, len(cases), cases)
	}
	want := []struct {
		name string
		v    verdict.Verdict
	}{{"create_dsq", verdict.Pass}, {"enq_last_no_enq_fails", verdict.Pass}, {"hotplug", verdict.Skip}, {"select_cpu_vtime", verdict.Fail}}
	for i, w := range want {
		if cases[i].Name != w.name || cases[i].Verdict != w.v || cases[i].Num != i+1 {
			t.Errorf("case %d = %+v, want %s %s", i, cases[i], w.name, w.v)
		}
	}
	if !strings.Contains(cases[3].Output, "Expected skel->data->consumed (0) != 0") || strings.Contains(cases[3].Output, "create_dsq") {
		t.Errorf("case 4 output %q: want its own lines only", cases[3].Output)
	}
	if !strings.Contains(cases[1].Output, "libbpf: struct_ops init_kern") {
		t.Errorf("case 2 output %q", cases[1].Output)
	}
}

func TestParseTAPErrors(t *testing.T) {
	tests := []struct {
		name, out, want string
	}{
		{"no results", "hello\nworld\n", `line 1 "hello": no TAP result`},
		{"malformed result", "ok 1 a\nok b c\n", `line 2 "ok b c": a TAP result needs "ok N name"`},
		{"bail out", "ok 1 a\nBail out! no sched_ext\n", `line 2 "Bail out! no sched_ext": the program bailed out`},
		{"short of its plan", "1..3\nok 1 a\nok 2 b\n", "TAP plan 1..3 but 2 results"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parseTAP([]byte(tt.out))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
	cases, plan, err := parseTAP([]byte("TAP version 13\n1..2\nok 1 - first\n  ok 1 nested\nnot ok 2 second # TODO later\n"))
	if err != nil || plan != 2 || cases[0].Name != "first" || cases[1].Verdict != verdict.Skip || !strings.Contains(cases[1].Output, "nested") {
		t.Errorf("plan %d cases %+v err %v", plan, cases, err)
	}
}

func TestParseMetrics(t *testing.T) {
	cyclic := "# /dev/cpu_dma_latency set to 0us\n" +
		"T: 0 ( 1234) P:80 I:1000 C:   1000 Min:      5 Act:   10 Avg:   12 Max:      40\n" +
		"T: 1 ( 1235) P:80 I:1500 C:    667 Min:      6 Act:   11 Avg:   20 Max:      95\n"
	tests := []struct {
		name    string
		format  OutputFormat
		metrics []Metric
		out     string
		want    map[string]float64
		err     string
	}{
		{"json path", JSONOutput(), []Metric{{Name: "c", Key: "a.b.2.c"}}, `{"a":{"b":[1,2,{"c":3.5}]}}`, map[string]float64{"c": 3.5}, ""},
		{"json lines, max", JSONOutput(), []Metric{{Name: "lat", Agg: AggMax}}, "{\"lat\": 3}\n{\"lat\": \"7us\"}\n", map[string]float64{"lat": 7}, ""},
		{"json broken line", JSONOutput(), []Metric{{Name: "lat"}}, "{\"lat\": 3}\n{lat: 4}\n", nil, `line 2 "{lat: 4}": not JSON`},
		{"key=value", KeyValueOutput(""), []Metric{{Name: "lat"}, {Name: "ops", Agg: AggSum}}, "# header\nops=10\nlat=3.2ms\nops=5\n", map[string]float64{"lat": 3.2, "ops": 15}, ""},
		{"key: value", KeyValueOutput(":"), []Metric{{Name: "bogo ops"}}, "bogo ops: 1234\n", map[string]float64{"bogo ops": 1234}, ""},
		{"key=value garbage", KeyValueOutput(""), []Metric{{Name: "lat"}}, "lat=3\nsegfault in worker\n", nil, `line 2 "segfault in worker": not key=value`},
		{"key=value not a number", KeyValueOutput(""), []Metric{{Name: "lat"}}, "lat=fast\n", nil, `line 1 "lat=fast": value of lat is not a number`},
		{"hackbench", RegexpOutput(`^Time: (?P<time>[0-9.]+)`), []Metric{{Name: "time"}}, "Running in process mode with 2 groups\nTime: 0.412\n", map[string]float64{"time": 0.412}, ""},
		{"cyclictest threads", RegexpOutput(`Avg:\s*(?P<avg>\d+)\s+Max:\s*(?P<max>\d+)`),
			[]Metric{{Name: "avg_us", Key: "avg", Agg: AggMean}, {Name: "max_us", Key: "max", Agg: AggMax}}, cyclic, map[string]float64{"avg_us": 16, "max_us": 95}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Payload{Program: "/bin/true", Format: tt.format, Metrics: tt.metrics}
			r := PayloadResult{Name: "p", ExitCode: 0}
			res := judgePayload(p, &r, []byte(tt.out), nil)
			if tt.err != "" {
				if res.Verdict != verdict.Fail || !strings.Contains(r.Error, tt.err) {
					t.Errorf("verdict %s error %q, want %q", res.Verdict, r.Error, tt.err)
				}
				return
			}
			if res.Verdict != verdict.Pass {
				t.Fatalf("verdict %s: %s", res.Verdict, r.Error)
			}
			for name, want := range tt.want {
				if v, ok := r.Metric(name); !ok || v.Value != want {
					t.Errorf("%s = %+v, want %g", name, v, want)
				}
			}
		})
	}
}

func TestPayloadValidate(t *testing.T) {
	for _, tc := range []struct {
		p    Payload
		want string
	}{
		{Payload{}, "no Program"},
		{Payload{Program: "x", Metrics: []Metric{{Name: "a"}}}, "metrics need an output format"},
		{Payload{Program: "x", Format: RegexpOutput()}, "at least one pattern"},
		{Payload{Program: "x", Format: RegexpOutput(`Time: (?P<time>[0-9.]+)`), Metrics: []Metric{{Name: "lat"}}}, `no pattern has a group named "lat"`},
		{Payload{Program: "x", Format: RegexpOutput(`(`)}, "pattern"},
		{Payload{Program: "x", Format: JSONOutput(), Metrics: []Metric{{Name: "a"}, {Name: "a"}}}, "unique"},
		{Payload{Program: "x", Format: JSONOutput(), Checks: []MetricCheck{MetricAtMost("b", 1)}}, "not declared"},
	} {
		if err := tc.p.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.p, err, tc.want)
		}
	}
}

// TestRunPayload runs real programs the way the guest does.
func TestRunPayload(t *testing.T) {
	c := &Ctx{Log: zap.NewNop()}
	sh := func(script string) Payload {
		return Payload{Name: "sh", Program: "/bin/sh", Args: []string{"-c", script}}
	}
	tests := []struct {
		name    string
		p       Payload
		verdict verdict.Verdict
		want    string
	}{
		{"metrics and a bound", func() Payload {
			p := sh("echo ops=120; echo lat=7")
			p.Format, p.Metrics = KeyValueOutput(""), []Metric{{Name: "ops", Polarity: HigherBetter}, {Name: "lat", Unit: "us", Polarity: LowerBetter}}
			p.Checks = []MetricCheck{MetricAtMost("lat", 5)}
			return p
		}(), verdict.Fail, "payload sh: lat=7 us above 5 us"},
		{"exit status", sh("echo boom >&2; exit 3"), verdict.Fail, "exited with status 3; last lines: boom"},
		{"allowed exit status", func() Payload { p := sh("exit 3"); p.ExitCodes = []int{0, 3}; return p }(), verdict.Pass, ""},
		{"timeout", func() Payload { p := sh("sleep 10"); p.Timeout = 200 * time.Millisecond; return p }(), verdict.Fail, "did not finish within 200ms"},
		{"missing metric", func() Payload {
			p := sh("echo nothing=1")
			p.Format, p.Metrics = KeyValueOutput(""), []Metric{{Name: "ops"}}
			return p
		}(), verdict.Fail, `the output gave no ops (key "ops")`},
		{"missing program", Payload{Program: "ktstr-no-such-program"}, verdict.Fail, "add the payload's Includes() to ktstr.Opts.Includes"},
		{"tap cases", func() Payload {
			p := sh("echo 1..2; echo ok 1 a; echo 'why it failed'; echo 'not ok 2 b'")
			p.Format = TAPOutput()
			return p
		}(), verdict.Fail, "not ok 2 b; last lines: why it failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, res := c.runPayload(context.Background(), tt.p)
			var msgs []string
			for _, d := range res.Details {
				msgs = append(msgs, d.Message)
			}
			all := strings.Join(msgs, "\n") + "\n" + r.Error
			if res.Verdict != tt.verdict || r.Verdict != tt.verdict || !strings.Contains(all, tt.want) {
				t.Errorf("verdict %s (result %s), findings %q; want %s with %q", res.Verdict, r.Verdict, all, tt.verdict, tt.want)
			}
		})
	}
}

func TestCompareMetrics(t *testing.T) {
	base := PayloadResult{Name: "hackbench", Label: "eevdf", Metrics: []MetricValue{
		{Name: "time", Value: 1.0, Unit: "s", Polarity: LowerBetter},
		{Name: "ops", Value: 100, Polarity: HigherBetter},
		{Name: "threads", Value: 4},
	}}
	cand := PayloadResult{Name: "hackbench", Label: "ktstr_fifo", Metrics: []MetricValue{
		{Name: "time", Value: 1.5, Unit: "s", Polarity: LowerBetter},
		{Name: "ops", Value: 95, Polarity: HigherBetter},
		{Name: "threads", Value: 4},
	}}
	res := CompareMetrics(base, cand, 0.2)
	if res.Verdict != verdict.Fail || len(res.Failures()) != 1 || !strings.Contains(res.Failures()[0].Message, "time 1 -> 1.5 (+50% worse), bound 20%") {
		t.Errorf("compare: %s %v", res.Verdict, res.Details)
	}
	table := FormatMetricTable([]PayloadResult{base, cand})
	for _, want := range []string{"eevdf", "ktstr_fifo", "hackbench time", "lower", "1.5"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
}
