package guest

import "path/filepath"

// The guest's file layout, shared by the host that packs the initramfs
// and the guest that uses it. Both directories end in "/" so they serve as
// path prefixes as they are.
const (
	// SchedDir holds the scheduler's files; a scheduler's argv names them
	// by paths under it.
	SchedDir = "/sched/"
	// IncludeDir holds a test's include files (Opts.Includes).
	IncludeDir = "/include/"
)

// SchedPath is where the scheduler file name lives in the guest.
func SchedPath(name string) string { return SchedDir + name }

// IncludePath is where an included host file appears in the guest:
// /include/<basename>.
func IncludePath(hostPath string) string { return IncludeDir + filepath.Base(hostPath) }
