package guest

import "golang.org/x/sys/unix"

// Monotonic is CLOCK_MONOTONIC in nanoseconds: the clock the scenario's
// workers time their gaps by, comparable across the guest's processes.
// Zero if the clock cannot be read.
func Monotonic() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return ts.Nano()
}
