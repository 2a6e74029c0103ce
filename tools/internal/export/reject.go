package export

import (
	"fmt"

	"github.com/ktstr-go/ktstr"
)

// CheckExportable returns the reason a test cannot run outside the VM
// harness, or nil. The wording explains why, so the operator does not go
// looking for a flag that would make it work.
func CheckExportable(m *ktstr.ExportManifest) error {
	if m.Version != ktstr.ExportManifestVersion {
		return fmt.Errorf("test binary speaks export manifest version %d, this exporter %d: rebuild the test binary and the exporter from the same checkout", m.Version, ktstr.ExportManifestVersion)
	}
	name := m.Test
	if m.HostOnly {
		return fmt.Errorf("test '%s' is host-only — it orchestrates builds or nested VMs from inside the test body and cannot be reproduced outside the framework harness. Host-only tests are out of scope for export", name)
	}
	if s := m.Scheduler; s != nil && s.KernelBuiltin {
		return fmt.Errorf("test '%s' uses a kernel-builtin scheduler (%s) — it activates via shell commands (enable / disable) rather than a userspace binary. The export preamble does not emit those commands; kernel-builtin export is out of scope", name, s.Name)
	}
	if s := m.Scheduler; s != nil && len(s.Argv) == 0 {
		return fmt.Errorf("test '%s': scheduler %s has an empty command line; its definition must give Argv", name, s.Name)
	}
	return nil
}
