package watchdog

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Marker is the first argument that makes a ktstr binary (a test binary
// or the ktstr command) the supervisor: `BINARY ktstr-scx-watchdog
// -timeout 2s [-report FILE] -- SCHEDULER [ARGS]...`.
const Marker = "ktstr-scx-watchdog"

// Options tune a supervised run beyond its timeout.
type Options struct {
	// Report, if set, is a file the supervisor appends each Rewrite to as
	// a JSON line.
	Report string
	// Layout, if set, spares the supervisor reading the kernel's BTF.
	Layout *Layout
}

// Command is the command line that runs argv under the supervisor in
// binary self (normally os.Executable()), with the given timeout.
func Command(self string, timeout time.Duration, o Options, argv []string) []string {
	cmd := []string{self, Marker, "-timeout", timeout.String()}
	if o.Report != "" {
		cmd = append(cmd, "-report", o.Report)
	}
	if o.Layout != nil {
		cmd = append(cmd, "-layout", o.Layout.String())
	}
	return append(append(cmd, "--"), argv...)
}

// RunIfRequested becomes the supervisor and exits when this process was
// started by Command; otherwise it returns at once. Call it first thing
// in main (ktstr.Main and ktstr.MainProgram do).
func RunIfRequested() {
	if len(os.Args) > 1 && os.Args[1] == Marker {
		os.Exit(supervisorMain(os.Args[2:], os.Stderr))
	}
}

func supervisorMain(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet(Marker, flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 0, "sched_ext watchdog timeout to set (at most 30s)")
	var o Options
	fs.StringVar(&o.Report, "report", "", "append each rewrite to this file as a JSON line")
	layout := fs.String("layout", "", "the sched_ext ops value layout, VALUESIZE:TIMEOUT:NAME:NAMELEN (default: from the kernel's BTF)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintf(stderr, "usage: %s -timeout DUR [-report FILE] [-layout L] -- SCHEDULER [ARGS]...\n", Marker)
		return 2
	}
	if *layout != "" {
		l, err := ParseLayout(*layout)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", Marker, err)
			return 2
		}
		o.Layout = &l
	}
	code, err := Supervise(fs.Args(), *timeout, o, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", Marker, err)
	}
	return code
}

// CheckTimeout says whether sched_ext can take d as a watchdog timeout.
func CheckTimeout(d time.Duration) error {
	switch {
	case d <= 0:
		return fmt.Errorf("watchdog timeout %v: must be positive", d)
	case d > MaxTimeout:
		return fmt.Errorf("watchdog timeout %v: sched_ext accepts at most %v", d, MaxTimeout)
	case d%time.Millisecond != 0:
		return fmt.Errorf("watchdog timeout %v: sched_ext counts whole milliseconds", d)
	}
	return nil
}

// Supervise runs argv with its stdio, rewriting the watchdog timeout of
// every sched_ext scheduler it registers to timeout, and forwards SIGTERM,
// SIGINT and SIGHUP to it. It returns the exit code to leave with: the
// scheduler's own, or 128+N after re-raising the signal N that killed it
// (so the supervisor's parent sees the scheduler's fate).
func Supervise(argv []string, timeout time.Duration, o Options, stderr io.Writer) (int, error) {
	if err := CheckTimeout(timeout); err != nil {
		return 2, err
	}
	rep, err := openReport(o.Report)
	if err != nil {
		return 1, err
	}
	defer rep.Close()
	rw := newRewriter(timeout,
		func(r Rewrite) {
			fmt.Fprintf(stderr, "%s: %s\n", Marker, r)
			rep.add(r)
		},
		func(err error) { fmt.Fprintf(stderr, "%s: cannot set the watchdog: %v\n", Marker, err) })
	if l := o.Layout; l != nil {
		rw.layout = func() (Layout, error) { return *l, nil }
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	type result struct {
		ws  unix.WaitStatus
		err error
	}
	done := make(chan result, 1)
	started := make(chan int, 1)
	go func() {
		ws, err := trace(cmd, func(pid int) { started <- pid }, rw.onUpdate)
		done <- result{ws, err}
	}()
	pid := 0
	var pending []syscall.Signal
	for {
		select {
		case pid = <-started:
			for _, s := range pending {
				_ = unix.Kill(pid, s)
			}
		case s := <-sigs:
			if pid == 0 {
				pending = append(pending, s.(syscall.Signal))
				continue
			}
			_ = unix.Kill(pid, s.(syscall.Signal))
		case r := <-done:
			if r.err != nil {
				return 1, r.err
			}
			return exitCode(r.ws), nil
		}
	}
}

// exitCode mirrors how the scheduler ended: its exit status, or its
// killing signal re-raised on this process (128+N if that returns).
func exitCode(ws unix.WaitStatus) int {
	if ws.Exited() {
		return ws.ExitStatus()
	}
	sig := ws.Signal()
	signal.Reset(sig)
	_ = unix.Kill(os.Getpid(), sig)
	return 128 + int(sig)
}

// report appends rewrites to a file as JSON lines; a nil report drops
// them.
type report struct{ f *os.File }

func openReport(path string) (*report, error) {
	if path == "" {
		return &report{}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the rewrite report: %w", err)
	}
	return &report{f: f}, nil
}

func (r *report) add(rw Rewrite) {
	if r.f == nil {
		return
	}
	b, _ := json.Marshal(rw)
	_, _ = r.f.Write(append(b, '\n'))
}

func (r *report) Close() error {
	if r.f == nil {
		return nil
	}
	return r.f.Close()
}

// ReadReport returns the rewrites a supervisor appended to path, oldest
// first; a missing file means none.
func ReadReport(path string) ([]Rewrite, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Rewrite
	dec := json.NewDecoder(bytes.NewReader(b))
	for dec.More() {
		var r Rewrite
		if err := dec.Decode(&r); err != nil {
			return out, fmt.Errorf("reading %s: %w", path, err)
		}
		out = append(out, r)
	}
	return out, nil
}
