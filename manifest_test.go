package ktstr

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/scheds"
	"github.com/ktstr-go/ktstr/topology"
)

func TestExportManifest(t *testing.T) {
	rt := &Test{Name: "m", Opts: Opts{Includes: []string{"a"}, Watchdog: 5 * time.Second}, Body: func(*scenario.Ctx) error { return nil }}
	m, err := exportManifest(rt)
	if err != nil {
		t.Fatal(err)
	}
	self, _ := os.Executable()
	if m.Binary != self || m.Topology != DefaultTopology || m.Duration != DefaultDuration || m.Watchdog != 5*time.Second ||
		len(m.Includes) != 1 || m.Scheduler != nil || m.Exportable() != "" {
		t.Errorf("manifest %+v", m)
	}
	rt.Topology = topology.Must("2n4l2c2t")
	rt.Scheduler = &scheds.Scheduler{Name: "x", Source: scheds.HostBinary{Path: "/bin/true"}, Args: []string{"-v"}, Watchdog: 7 * time.Second}
	rt.Watchdog = 0
	if m, err = exportManifest(rt); err != nil {
		t.Fatal(err)
	}
	if m.Topology != rt.Topology || m.Scheduler == nil || m.Scheduler.Name != "x" || m.Watchdog != 7*time.Second ||
		strings.Join(m.Scheduler.Argv, " ") != "/sched/true -v" || m.Scheduler.Files["/sched/true"] != "/bin/true" {
		t.Errorf("manifest %+v, scheduler %+v", m, m.Scheduler)
	}
}
