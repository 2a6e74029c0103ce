package gauntlet

import (
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/kernel"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/scheds"
	"github.com/ktstr-go/ktstr/topology"
)

func noBody(*scenario.Ctx) error { return nil }

// fakeSched is a sched_ext scheduler with two flags, b requiring a.
var fakeSched = &scheds.Scheduler{
	Name:   "fake",
	Source: scheds.HostBinary{Path: "/bin/true"},
	Flags:  []scheds.Flag{{Name: "a"}, {Name: "b", Requires: []string{"a"}}},
}

func testOf(name string, s *scheds.Scheduler, c topology.Constraints) *ktstr.Test {
	return &ktstr.Test{Name: name, Opts: ktstr.Opts{Scheduler: s, Constraints: c, Duration: 2 * time.Second}, Body: noBody}
}

// kernelsOf makes kernel dimension values: "6.12.118" has sched_ext,
// "6.1.192" was built without it.
func kernelsOf(labels ...string) []Kernel {
	var out []Kernel
	for _, l := range labels {
		m := &kernel.Metadata{Version: l}
		if l < "6.12" {
			m.KconfigOmitted = []string{"CONFIG_SCHED_CLASS_EXT", "CONFIG_EXT_GROUP_SCHED"}
		}
		out = append(out, Kernel{Label: l, Spec: l + "-key", K: &kernel.Kernel{Image: "/k/" + l, Meta: m}})
	}
	return out
}

func presetsOf(t *testing.T, names ...string) []topology.Preset {
	t.Helper()
	ps, err := SelectPresets(names)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}
