package monitor

import (
	"testing"
	"time"
)

// samples builds a report of 2 CPUs sampled every 100 ms: running[i] is
// both CPUs' nr_running in sample i, ran[i] the host CPU time each vCPU
// got in the interval ending at sample i.
func shareReport(running []uint32, ran []time.Duration) *Report {
	r := &Report{Interval: 100 * time.Millisecond}
	var vt time.Duration = time.Millisecond // nonzero: known
	for i := range running {
		if i > 0 {
			vt += ran[i]
		}
		c := CPU{NrRunning: running[i], VCPUTime: vt}
		r.Samples = append(r.Samples, Sample{At: time.Duration(i) * 100 * time.Millisecond, CPUs: []CPU{c, c}})
	}
	return r
}

func TestHostShare(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name         string
		running      []uint32
		ran          []time.Duration // per vCPU per interval
		parallel     int
		wantOK       bool
		wantShare    float64
		wantStarved  int
		wantLongest  time.Duration
		wantBusyTime time.Duration
	}{
		// TCG: one host CPU for both vCPUs; 50 ms each per 100 ms is all of it.
		{"tcg unloaded", []uint32{1, 1, 1, 1}, []time.Duration{0, 50 * ms, 50 * ms, 50 * ms}, 1, true, 1, 0, 0, 300 * ms},
		{"tcg half", []uint32{1, 1, 1}, []time.Duration{0, 25 * ms, 25 * ms}, 1, true, 0.5, 0, 0, 200 * ms},
		{"tcg starved streak", []uint32{1, 1, 1, 1, 1}, []time.Duration{0, 50 * ms, 5 * ms, 5 * ms, 50 * ms}, 1, true, 0.55, 2, 200 * ms, 400 * ms},
		// KVM: each vCPU its own host CPU; 50 ms of 100 ms each is half.
		{"kvm half", []uint32{2, 2, 2}, []time.Duration{0, 50 * ms, 50 * ms}, 2, true, 0.5, 0, 0, 200 * ms},
		// An idle guest asks for nothing: no verdict on the host.
		{"idle", []uint32{0, 0, 0}, []time.Duration{0, 1 * ms, 1 * ms}, 1, false, 0, 0, 0, 0},
		// Busy only between samples 1 and 2.
		{"mixed", []uint32{0, 1, 1, 0}, []time.Duration{0, 1 * ms, 50 * ms, 1 * ms}, 1, true, 1, 0, 0, 100 * ms},
	}
	for _, tc := range tests {
		h, ok := shareReport(tc.running, tc.ran).HostShare(tc.parallel)
		if ok != tc.wantOK {
			t.Errorf("%s: ok %v, want %v", tc.name, ok, tc.wantOK)
			continue
		}
		if !ok {
			continue
		}
		if d := h.Share - tc.wantShare; d > 0.01 || d < -0.01 {
			t.Errorf("%s: share %.3f, want %.3f", tc.name, h.Share, tc.wantShare)
		}
		if h.Starved != tc.wantStarved || h.LongestStarved != tc.wantLongest || h.Busy != tc.wantBusyTime {
			t.Errorf("%s: starved %d longest %v busy %v, want %d %v %v", tc.name, h.Starved, h.LongestStarved, h.Busy, tc.wantStarved, tc.wantLongest, tc.wantBusyTime)
		}
	}
	var unknown Report
	unknown.Samples = []Sample{{CPUs: []CPU{{NrRunning: 1}}}, {At: 100 * ms, CPUs: []CPU{{NrRunning: 1}}}}
	if _, ok := unknown.HostShare(1); ok {
		t.Error("a report without vCPU times gave a host share")
	}
}
