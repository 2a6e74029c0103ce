package vmm

import (
	"context"
	"fmt"
	"time"
)

// Watch is every backend's watchdog. It waits for the first of: timeout
// passing (never, when it is zero), ctx ending, and done closing. On
// either of the first two it asks stop to end the VM, with the reason
// (ExitTimeout or ExitKilled) and the detail Exit reports; done closing
// (the VM stopped by itself) ends it without a call. A backend runs it
// in its own goroutine from Start and closes done once the VM stopped.
func Watch(ctx context.Context, timeout time.Duration, done <-chan struct{}, stop func(reason ExitReason, detail string)) {
	var timer <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-timer:
		stop(ExitTimeout, fmt.Sprintf("no power-off within %s; VM killed", timeout))
	case <-ctx.Done():
		stop(ExitKilled, "VM killed: "+ctx.Err().Error())
	case <-done:
	}
}
