// Command ktstr is the ktstr-go command line: run scheduler tests in VMs,
// open a shell in a VM of a given topology, manage kernels and
// schedulers, inspect the verifier, and export tests for bare metal.
//
// The commands are spf13/cobra commands, one per cmd_<name>.go file,
// each registering its constructor from an init function (register);
// flags that several commands take are declared once in flags.go. Exit
// codes (exit.go) are scriptable: 0 pass, 1 the scheduler failed its
// checks, 2 usage error, 125 could not test, so `git bisect run ktstr
// run ...` works.
//
// The binary is self-contained: it is the guest's init and the scenario
// workers (ktstr.MainProgram), the in-binary tool an exported .run file
// runs, and, invoked as scxload, the in-guest scheduler loader; the BPF
// scheduler sources are embedded. So `go install .../tools/ktstr@VERSION`
// gives a command that runs from any directory.
package main

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/scheds"
	"github.com/ktstr-go/ktstr/scheds/scxload"
)

// scxloadName is the name under which this binary is the loader: the
// guest runs it as /sched/scxload.
const scxloadName = "scxload"

func main() {
	if filepath.Base(os.Args[0]) == scxloadName {
		os.Exit(scxload.Main(os.Args[1:]))
	}
	// Before MainProgram: `ktstr ktstr manifest` (an export asking this
	// binary about a test) builds the test's scheduler files too.
	scheds.UseSelfAsLoader()
	// The guest's init, a scenario worker, or `ktstr ktstr ...` (the
	// in-binary tool) never return from here.
	ktstr.MainProgram()
	if err := enterBazelWorkingDirectory(); err != nil {
		os.Stderr.WriteString("ktstr: " + err.Error() + "\n")
		os.Exit(exitCouldNotTest)
	}
	// Ctrl-C cancels the context so commands can clean up (VMs, temp
	// dirs, half-written cache entries) before exiting.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, processEnv(), os.Args[1:])
	stop()
	os.Exit(code)
}

// enterBazelWorkingDirectory makes relative paths mean what the user
// typed under `bazel run //tools:ktstr -- ...`: Bazel starts the binary
// in its runfiles tree and names the user's directory in
// BUILD_WORKING_DIRECTORY.
func enterBazelWorkingDirectory() error {
	if d := os.Getenv("BUILD_WORKING_DIRECTORY"); d != "" {
		return os.Chdir(d)
	}
	return nil
}
