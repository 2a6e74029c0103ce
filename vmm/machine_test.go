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
