package guest

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// Output is the payload of KindOutput: a chunk of a command's output.
type Output struct {
	Stream string `json:"stream"` // "stdout" or "stderr"
	Data   []byte `json:"data"`
}

// EncodeExec encodes a shell command for the kernel command line (which
// splits on spaces and has no quoting).
func EncodeExec(cmd string) string { return base64.RawURLEncoding.EncodeToString([]byte(cmd)) }

// DecodeExec reverses EncodeExec.
func DecodeExec(s string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", fmt.Errorf("decoding ktstr.exec: %w", err)
	}
	return string(b), nil
}

// InstallBusybox links every busybox applet into /bin so a shell has its
// usual commands.
func InstallBusybox() error {
	if _, err := os.Stat("/bin/busybox"); err != nil {
		return fmt.Errorf("busybox is not in this initramfs: %w", err)
	}
	for _, d := range []string{"/sbin", "/usr/bin", "/usr/sbin"} {
		_ = os.MkdirAll(d, 0o755)
	}
	out, err := exec.Command("/bin/busybox", "--install", "-s").CombinedOutput()
	if err != nil {
		return fmt.Errorf("busybox --install: %v: %s", err, out)
	}
	return nil
}

// RunExec runs cmd with /bin/sh, streams its output over the channel and
// returns its exit code.
func RunExec(w *Writer, cmd string) (int, error) {
	c := exec.Command("/bin/sh", "-c", cmd)
	c.Dir = "/tmp"
	c.Stdin = nil
	c.Stdout = &streamWriter{w: w, stream: "stdout"}
	c.Stderr = &streamWriter{w: w, stream: "stderr"}
	err := c.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &ee):
		if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
			return 128 + int(st.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	return -1, fmt.Errorf("running %q: %w", cmd, err)
}

type streamWriter struct {
	w      *Writer
	stream string
}

func (s *streamWriter) Write(p []byte) (int, error) {
	// Copy: the exec package reuses its buffer.
	if err := s.w.Send(KindOutput, Output{Stream: s.stream, Data: append([]byte(nil), p...)}); err != nil {
		return 0, err
	}
	return len(p), nil
}

// RunShell runs an interactive busybox shell on the console serial port,
// as that terminal's controlling process, sized rows×cols (0 = leave).
func RunShell(rows, cols int) (int, error) {
	tty, err := os.OpenFile("/dev/ttyS0", os.O_RDWR, 0)
	if err != nil {
		return -1, fmt.Errorf("opening console: %w", err)
	}
	defer tty.Close()
	if rows > 0 && cols > 0 {
		_ = unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: uint16(rows), Col: uint16(cols)})
	}
	c := exec.Command("/bin/sh", "-i")
	c.Dir = "/tmp"
	c.Env = append(os.Environ(), "PS1=ktstr:\\w# ")
	c.Stdin, c.Stdout, c.Stderr = tty, tty, tty
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	err = c.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return -1, err
	}
	return 0, nil
}

var _ io.Writer = (*streamWriter)(nil)
