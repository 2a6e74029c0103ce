package ktstr

import (
	"context"
	"fmt"
	"io"
	"os"

	"time"

	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/scheds"
	"github.com/ktstr-go/ktstr/topology"
)

// ShellOptions configure a VM with a busybox shell.
type ShellOptions struct {
	Topology topology.Topology
	MemoryMB int
	// Exec runs one command (with /bin/sh -c) instead of an interactive
	// shell; its output is written to Stdout/Stderr and its exit code is
	// Result.ExitCode.
	Exec string
	// Includes are host files copied under /include/ in the guest.
	Includes []string
	// Files maps extra guest paths to host files (e.g. "/bin/bash").
	Files  map[string]string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Timeout bounds an Exec run (zero: 10 minutes); interactive shells
	// have none.
	Timeout   time.Duration
	Scheduler *scheds.Scheduler
}

// maxExecLen keeps the encoded command within the kernel's 2048-byte
// command line together with everything else on it.
const maxExecLen = 1024

// Shell boots a VM with busybox and either runs opts.Exec or attaches the
// console to the caller's terminal.
func Shell(ctx context.Context, opts ShellOptions, ro RunOptions) (*Result, error) {
	spec := bootSpec{
		name:   "shell",
		params: guest.BootParams{Mode: guest.ModeShell},
		shell:  true,
		opts:   Opts{Topology: opts.Topology, MemoryMB: opts.MemoryMB, Includes: opts.Includes, Timeout: opts.Timeout, Scheduler: opts.Scheduler},
		files:  opts.Files,
	}
	if opts.Exec != "" {
		if len(opts.Exec) > maxExecLen {
			return nil, fmt.Errorf("--exec command is %d bytes; the kernel command line allows %d: put longer scripts in a file and pass it with -i", len(opts.Exec), maxExecLen)
		}
		spec.params = guest.BootParams{Mode: guest.ModeExec, Exec: opts.Exec}
		if spec.opts.Timeout == 0 {
			spec.opts.Timeout = 10 * time.Minute
		}
		stdout, stderr := opts.Stdout, opts.Stderr
		if stdout == nil {
			stdout = os.Stdout
		}
		if stderr == nil {
			stderr = os.Stderr
		}
		prev := ro.OnRecord
		ro.OnRecord = func(r guest.Record) {
			if r.Kind == guest.KindOutput {
				var o guest.Output
				if r.Decode(&o) == nil {
					if o.Stream == "stderr" {
						stderr.Write(o.Data)
					} else {
						stdout.Write(o.Data)
					}
				}
			}
			if prev != nil {
				prev(r)
			}
		}
	} else {
		spec.interact = true
		spec.stdin = opts.Stdin
		if spec.stdin == nil {
			spec.stdin = os.Stdin
		}
		if ro.Console == nil {
			ro.Console = os.Stdout
		}
		if ws, err := unix.IoctlGetWinsize(int(os.Stdin.Fd()), unix.TIOCGWINSZ); err == nil {
			spec.params.Rows, spec.params.Cols = int(ws.Row), int(ws.Col)
		}
	}
	return boot(ctx, spec, ro)
}
