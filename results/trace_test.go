package results

import (
	"path/filepath"
	"testing"
	"time"
)

func TestTraceTracks(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if err := Write(dir, synthRun(t, fixture{cg1Share: 0.1, died: true})); err != nil {
		t.Fatal(err)
	}
	tr, err := ParseTrace([]byte(readFile(t, dir, FileTrace)))
	if err != nil {
		t.Fatal(err)
	}
	count := tr.Tracks()
	var gapTs []float64
	for _, e := range tr.TraceEvents {
		if e.Cat == "gap" {
			gapTs = append(gapTs, e.Ts)
		}
	}
	want := map[string]int{
		// 60 samples per CPU; switch rates from the second sample on.
		"C cpu0 nr_running": 60, "C cpu1 nr_running": 60, "C cpu0 local_dsq": 60, "C cpu1 local_dsq": 60,
		"C cpu0 switches_per_s": 59, "C cpu1 switches_per_s": 59,
		"X step 1": 1, "X step 2": 1, "X SetCpuset(cg_0)": 1, "X attached ktstr_fifo": 1,
		"i scheduler attached": 1, "i scheduler died": 1, "i cpu1 stalled": 1, "i final record": 1,
		"M cg_1/w0 (tid 42)": 1, "M host monitor: guest runqueues": 1,
	}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%q: %d events, want %d", k, count[k], n)
		}
	}
	// Each worker's 40 ms gap, one second into its window: the window
	// began 1.65 s after guest init, which the host saw at boot + delay.
	wantTs := us(guestBoot + recvDelay + 1650*time.Millisecond + time.Second)
	if len(gapTs) != 4 {
		t.Fatalf("%d gap slices, want 4", len(gapTs))
	}
	for _, ts := range gapTs {
		if ts != wantTs {
			t.Errorf("gap slice at %v µs, want %v µs (placed by the guest's monotonic clock)", ts, wantTs)
		}
	}
}

// Without the guest's monotonic clock, a worker's window is taken to
// end when its scenario's record was sent.
func TestTraceGapsWithoutMono(t *testing.T) {
	r := synthRun(t, fixture{cg1Share: 0.5})
	r.Records[0].Data = []byte(`{"test":"synthetic"}`)
	v := newView(r)
	ws := &v.workers[0]
	at := v.workerTime(ws, &ws.Reports[0], ws.Reports[0].StartMono)
	if want := ws.at - ws.Reports[0].Wall; at != want {
		t.Errorf("window start at %v, want %v", at, want)
	}
}

func TestParseTraceRejects(t *testing.T) {
	tests := []struct{ name, doc string }{
		{"not JSON", `{`},
		{"no events", `{"displayTimeUnit":"ms"}`},
		{"bad unit", `{"traceEvents":[],"displayTimeUnit":"s"}`},
		{"no name", `{"traceEvents":[{"ph":"X","ts":1,"pid":1}],"displayTimeUnit":"ms"}`},
		{"bad phase", `{"traceEvents":[{"name":"a","ph":"Q","ts":1,"pid":1}],"displayTimeUnit":"ms"}`},
		{"no pid", `{"traceEvents":[{"name":"a","ph":"X","ts":1}],"displayTimeUnit":"ms"}`},
		{"no ts", `{"traceEvents":[{"name":"a","ph":"X","pid":1}],"displayTimeUnit":"ms"}`},
		{"negative dur", `{"traceEvents":[{"name":"a","ph":"X","ts":1,"dur":-1,"pid":1}],"displayTimeUnit":"ms"}`},
		{"bad scope", `{"traceEvents":[{"name":"a","ph":"i","s":"x","ts":1,"pid":1}],"displayTimeUnit":"ms"}`},
		{"string counter", `{"traceEvents":[{"name":"a","ph":"C","ts":1,"pid":1,"args":{"v":"x"}}],"displayTimeUnit":"ms"}`},
	}
	for _, tc := range tests {
		if _, err := ParseTrace([]byte(tc.doc)); err == nil {
			t.Errorf("%s: ParseTrace accepted %s", tc.name, tc.doc)
		}
	}
}
