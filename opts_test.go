package ktstr

import (
	"testing"

	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/scheds"
)

// The test's bounds win over its scheduler's, which win over the defaults.
func TestMonitorThresholds(t *testing.T) {
	test, sched := &monitor.Thresholds{Sustained: 1}, &monitor.Thresholds{Sustained: 2}
	for _, tc := range []struct {
		name string
		opts Opts
		want *monitor.Thresholds
	}{
		{"defaults", Opts{}, &monitor.DefaultThresholds},
		{"scheduler without bounds", Opts{Scheduler: &scheds.Scheduler{Name: "s"}}, &monitor.DefaultThresholds},
		{"scheduler's", Opts{Scheduler: &scheds.Scheduler{Name: "s", Monitor: sched}}, sched},
		{"test's", Opts{Monitor: test, Scheduler: &scheds.Scheduler{Name: "s", Monitor: sched}}, test},
	} {
		if got := monitorThresholds(&tc.opts); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
