package kernel

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ktstr-go/ktstr/internal/tailbuf"
)

// runCmd runs a build step with its output appended to log. make runs in
// its own process group so cancelling ctx kills the whole tree of
// compilers, not just make. When status is non-nil a single line, rewritten
// in place, shows how far the step got (meant for a TTY).
func runCmd(ctx context.Context, dir string, env []string, log io.Writer, status io.Writer, label string, name string, args ...string) error {
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
		follow(pr, io.MultiWriter(log, tail), status, label)
	}()
	fmt.Fprintf(log, "$ %s %s\n", name, strings.Join(args, " "))
	err := cmd.Run()
	pw.Close()
	wg.Wait()
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", label, ctx.Err())
	}
	if err != nil {
		return fmt.Errorf("%s failed: %w\n%s", label, err, tail.String())
	}
	return nil
}

// follow copies lines to w and, if status is set, keeps a one-line view of
// kbuild's "  CC      path" lines with a step count and elapsed time.
func follow(r io.Reader, w io.Writer, status io.Writer, label string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	start := time.Now()
	var last time.Time
	steps := 0
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(w, line)
		if status == nil {
			continue
		}
		if f := strings.Fields(line); len(f) == 2 && strings.ToUpper(f[0]) == f[0] {
			steps++
		}
		if time.Since(last) < 100*time.Millisecond {
			continue
		}
		last = time.Now()
		shown := strings.Join(strings.Fields(line), " ")
		if len(shown) > 60 {
			shown = "…" + shown[len(shown)-59:]
		}
		fmt.Fprintf(status, "\r\033[K%s: %d steps, %s: %s", label, steps, time.Since(start).Truncate(time.Second), shown)
	}
	if status != nil {
		fmt.Fprintf(status, "\r\033[K")
	}
}

// IsTerminal reports whether f is a character device (a TTY), where a live
// status line makes sense.
func IsTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
