package vmm

import "testing"

func TestExitReasonString(t *testing.T) {
	for r, want := range map[ExitReason]string{
		ExitClean:      "clean",
		ExitPanic:      "panic",
		ExitTimeout:    "timeout",
		ExitCrash:      "crash",
		ExitKilled:     "killed",
		ExitReboot:     "reboot",
		ExitReboot + 1: "ExitReason(6)",
	} {
		if got := r.String(); got != want {
			t.Errorf("ExitReason(%d).String() = %q, want %q", int(r), got, want)
		}
	}
}

func TestVCPUsDetail(t *testing.T) {
	got := VCPUsDetail([]VCPUState{{RIP: 0x10}, {RIP: 0xffffffff81000000, Stack: []uint64{1}}})
	if want := " (vCPU 0 at rip 0x10, vCPU 1 at rip 0xffffffff81000000)"; got != want {
		t.Errorf("VCPUsDetail = %q, want %q", got, want)
	}
	if got := VCPUsDetail(nil); got != "" {
		t.Errorf("VCPUsDetail(nil) = %q, want empty", got)
	}
}
