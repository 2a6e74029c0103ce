package ktstr

import (
	"os"
	"testing"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/guest/watchdog"
	"github.com/ktstr-go/ktstr/scenario"
)

// Main must be called from TestMain of every package with ktstr tests:
//
//	func TestMain(m *testing.M) { ktstr.Main(m) }
//
// The same binary is the host-side test runner, the guest's PID 1 and work
// process, the worker processes of scenarios, and (with "ktstr" as its
// first argument) a tool that lists, runs and exports its tests.
func Main(m *testing.M) {
	dispatchEarly(m)
	os.Exit(m.Run())
}

// MainProgram is Main for a non-test program (such as the ktstr command)
// that registers tests and can serve as a guest init and as the in-binary
// tool (`<program> ktstr list|manifest|run`). It returns when the process
// is an ordinary host-side invocation.
func MainProgram() { dispatchEarly(nil) }

func dispatchEarly(m *testing.M) {
	// The watchdog supervisor of a scheduler (guest/watchdog) and a
	// scenario worker never return from here.
	watchdog.RunIfRequested()
	scenario.RunWorkerIfRequested()
	switch {
	case guest.IsPID1():
		guest.RunInit() // never returns
	case len(os.Args) > 1 && os.Args[1] == "ktstr":
		// Before IsChild: a test binary started from a guest shell (an
		// exported .run inside a VM) inherits the work process's
		// environment, yet is a tool invocation, not a second guest. A
		// program (the ktstr command) answers too: it registers tests, so
		// it can be the binary an exporter packs.
		os.Exit(dispatchTool(os.Args[2:]))
	case guest.IsChild():
		os.Exit(runGuest(m))
	}
}
