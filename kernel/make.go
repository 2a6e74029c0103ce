package kernel

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ktstr-go/ktstr/internal/tailbuf"
)

// runCmd runs a build step with its output appended to log. make runs in
// its own process group so cancelling ctx kills the whole tree of
// compilers, not just make. m, if non-nil, counts and reports make's
// steps.
func runCmd(ctx context.Context, dir string, env []string, log io.Writer, m *meter, label string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	cmd.Stderr = pw
	tail := tailbuf.New(40)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		follow(pr, io.MultiWriter(log, tail), m)
	}()
	fmt.Fprintf(log, "$ %s %s\n", name, strings.Join(args, " "))
	stop := m.start()
	err := cmd.Run()
	pw.Close()
	wg.Wait()
	stop()
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", label, ctx.Err())
	}
	if err != nil {
		return fmt.Errorf("%s failed: %w\n%s", label, err, tail.String())
	}
	return nil
}

// follow copies lines to w and hands each to m.
func follow(r io.Reader, w io.Writer, m *meter) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(w, line)
		m.line(line)
	}
}

// DefaultProgressEvery is how often a build reports progress when its
// output is no terminal (BuildOptions.Progress).
const DefaultProgressEvery = 30 * time.Second

// meter counts kbuild's steps (lines such as "  CC      kernel/fork.o")
// and reports them: on live, one line rewritten in place (a terminal);
// on periodic, a line every interval with the elapsed time and, from the
// previous build's step count, an estimate of the time left (a log).
// A nil *meter does nothing.
type meter struct {
	label    string
	live     io.Writer
	periodic io.Writer
	every    time.Duration
	// expect is the previous build's step count; 0 when unknown.
	expect int

	mu       sync.Mutex
	begun    time.Time
	steps    int
	lastLive time.Time
}

// start begins timing and, for periodic reports, starts their ticker; the
// returned func stops it and clears a live line.
func (m *meter) start() (stop func()) {
	if m == nil {
		return func() {}
	}
	m.mu.Lock()
	m.begun = time.Now()
	m.mu.Unlock()
	done := make(chan struct{})
	var wg sync.WaitGroup
	if m.periodic != nil {
		// A ticker, not the output, drives the reports: make is silent
		// for minutes while it links vmlinux and generates BTF.
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(m.every)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case now := <-t.C:
					fmt.Fprintln(m.periodic, m.report(now))
				}
			}
		}()
	}
	return func() {
		close(done)
		wg.Wait()
		if m.live != nil {
			fmt.Fprint(m.live, "\r\033[K")
		}
	}
}

func (m *meter) line(line string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if f := strings.Fields(line); len(f) == 2 && strings.ToUpper(f[0]) == f[0] {
		m.steps++
	}
	if m.live == nil || time.Since(m.lastLive) < 100*time.Millisecond {
		return
	}
	m.lastLive = time.Now()
	shown := strings.Join(strings.Fields(line), " ")
	if len(shown) > 60 {
		shown = "…" + shown[len(shown)-59:]
	}
	fmt.Fprintf(m.live, "\r\033[K%s: %d steps, %s: %s", m.label, m.steps, time.Since(m.begun).Truncate(time.Second), shown)
}

// Steps is how many steps make has reported so far.
func (m *meter) Steps() int {
	if m == nil {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.steps
}

// report is one progress line as of now.
func (m *meter) report(now time.Time) string {
	m.mu.Lock()
	steps, elapsed := m.steps, now.Sub(m.begun).Round(time.Second)
	m.mu.Unlock()
	switch {
	case m.expect == 0:
		return fmt.Sprintf("%s: %d steps, %s elapsed (no earlier build in the cache to estimate the rest from)", m.label, steps, elapsed)
	case steps == 0:
		return fmt.Sprintf("%s: starting, %s elapsed (the previous build took %d steps)", m.label, elapsed, m.expect)
	case steps >= m.expect:
		return fmt.Sprintf("%s: %d steps, more than the previous build's %d; %s elapsed, nearly done", m.label, steps, m.expect, elapsed)
	}
	left := time.Duration(float64(elapsed) * float64(m.expect-steps) / float64(steps)).Round(time.Second)
	return fmt.Sprintf("%s: %d of about %d steps (%d%%), %s elapsed, about %s left", m.label, steps, m.expect, 100*steps/m.expect, elapsed, left)
}
