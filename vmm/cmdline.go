package vmm

import "strings"

// KernelCmdline is the command line every backend boots with: serial
// console, panics that end the VM (pvpanic/reboot with -no-reboot), the
// kernel at its link address (nokaslr: the host monitor translates
// kernel symbols without walking page tables), and the caller's extra
// arguments.
func KernelCmdline(extra string) string {
	base := "console=ttyS0,115200 earlyprintk=serial,ttyS0,115200 panic=-1 oops=panic softlockup_panic=1 " +
		"nmi_watchdog=0 nokaslr tsc=reliable no_timer_check rdinit=/init i8042.noaux i8042.nomux i8042.dumbkbd"
	if extra = strings.TrimSpace(extra); extra != "" {
		return base + " " + extra
	}
	return base
}
