package qemu

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/vmm"
)

func TestQEMUExit(t *testing.T) {
	// exitStatus returns cmd.Wait's error for a process exiting with code.
	exitStatus := func(code int) error {
		err := exec.Command("sh", "-c", fmt.Sprintf("exit %d", code)).Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != code {
			t.Fatalf("sh exiting %d gave %v", code, err)
		}
		return err
	}
	const (
		powerOff = "[    2.1] ktstr: done\n[    2.2] reboot: Power down\n"
		restart  = "[    2.1] ktstr: done\n[    2.2] reboot: Restarting system\n"
	)
	tests := []struct {
		name       string
		waitErr    error
		tail       string
		panicked   bool
		want       vmm.ExitReason
		wantDetail string
	}{
		{"power-off", nil, powerOff, false, vmm.ExitClean, ""},
		{"no reboot message", nil, "init done\n", false, vmm.ExitClean, ""},
		{"restart", nil, restart, false, vmm.ExitReboot, "guest rebooted"},
		{"restart with command", nil, "reboot: Restarting system with command 'x'\n", false, vmm.ExitReboot, "guest rebooted"},
		{"power-off after an earlier restart line", nil, restart + powerOff, false, vmm.ExitClean, ""},
		{"restart after a console panic", nil, "Kernel panic - not syncing\n" + restart, true, vmm.ExitPanic, "kernel panic"},
		{"pvpanic", exitStatus(1), "Kernel panic - not syncing\n", true, vmm.ExitPanic, "pvpanic"},
		{"qemu error exit", exitStatus(1), "qemu-system-x86_64: -m 9G: cannot allocate\n", false, vmm.ExitCrash, "cannot allocate"},
		{"other exit status", exitStatus(2), restart, false, vmm.ExitCrash, "exit status 2"},
		{"wait failure", errors.New("wait: no child"), "", false, vmm.ExitCrash, "no child"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, detail := qemuExit(tc.waitErr, tc.tail, tc.panicked)
			if got != tc.want || !strings.Contains(detail, tc.wantDetail) {
				t.Errorf("qemuExit = %s %q, want %s containing %q", got, detail, tc.want, tc.wantDetail)
			}
		})
	}
}
