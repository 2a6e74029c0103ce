package export

import (
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/bpfmap"
)

func TestCheckExportable(t *testing.T) {
	base := func() *ktstr.ExportManifest {
		return &ktstr.ExportManifest{Version: ktstr.ExportManifestVersion, Test: "t1"}
	}
	tests := []struct {
		name string
		mod  func(*ktstr.ExportManifest)
		want string // "" means exportable
	}{
		{"eevdf", func(*ktstr.ExportManifest) {}, ""},
		{"scheduler", func(m *ktstr.ExportManifest) {
			m.Scheduler = &ktstr.ExportScheduler{Name: "x", Argv: []string{"/sched/x"}}
		}, ""},
		{"host only", func(m *ktstr.ExportManifest) { m.HostOnly = true },
			"test 't1' is host-only — it orchestrates builds or nested VMs from inside the test body and cannot be reproduced outside the framework harness. Host-only tests are out of scope for export"},
		// The test binary makes them on the host once the script has
		// attached the scheduler.
		{"bpf map writes", func(m *ktstr.ExportManifest) {
			m.Scheduler = &ktstr.ExportScheduler{Name: "x", Argv: []string{"/sched/x"}}
			m.MapWrites = []bpfmap.Write{{Map: ".bss", Var: "n", Value: bpfmap.U32(1)}}
		}, ""},
		{"kernel builtin", func(m *ktstr.ExportManifest) {
			m.Scheduler = &ktstr.ExportScheduler{Name: "builtin", KernelBuiltin: true}
		}, "test 't1' uses a kernel-builtin scheduler (builtin) — it activates via shell commands (enable / disable) rather than a userspace binary"},
		{"empty argv", func(m *ktstr.ExportManifest) { m.Scheduler = &ktstr.ExportScheduler{Name: "x"} },
			"scheduler x has an empty command line"},
		{"version skew", func(m *ktstr.ExportManifest) { m.Version = 0 },
			"rebuild the test binary and the exporter from the same checkout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := base()
			tt.mod(m)
			err := CheckExportable(m)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
