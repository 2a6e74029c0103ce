package guest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// kmsgLimit bounds how much kernel log a scheduler handle keeps.
const kmsgLimit = 200

// kmsgReader collects kernel log records from the moment it was opened,
// so a scheduler's death comes with only the log lines around it. A nil
// reader (no /dev/kmsg) yields empty excerpts.
type kmsgReader struct {
	mu    sync.Mutex
	fd    int
	lines []string
}

func openKmsg() *kmsgReader {
	fd, err := unix.Open("/dev/kmsg", unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	// Start after what is already logged.
	if _, err := unix.Seek(fd, 0, 2); err != nil {
		unix.Close(fd)
		return nil
	}
	return &kmsgReader{fd: fd}
}

// excerpt drains pending records and returns every line seen so far
// (the last kmsgLimit), as "[seconds] message".
func (k *kmsgReader) excerpt() string {
	if k == nil {
		return ""
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.fd >= 0 {
		buf := make([]byte, 8192)
		for {
			n, err := unix.Read(k.fd, buf)
			if errors.Is(err, unix.EPIPE) {
				// Records were overwritten before we read them; go on.
				continue
			}
			if err != nil || n <= 0 {
				break
			}
			k.lines = append(k.lines, formatKmsg(string(buf[:n])))
		}
		if over := len(k.lines) - kmsgLimit; over > 0 {
			k.lines = k.lines[over:]
		}
	}
	return strings.Join(k.lines, "\n")
}

func (k *kmsgReader) close() {
	if k == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.fd >= 0 {
		unix.Close(k.fd)
		k.fd = -1
	}
}

// formatKmsg turns "prio,seq,usec,flags;text\n KEY=VAL\n" into
// "[sec.usec] text".
func formatKmsg(rec string) string {
	hdr, text, ok := strings.Cut(rec, ";")
	if !ok {
		return strings.TrimSpace(rec)
	}
	text, _, _ = strings.Cut(text, "\n")
	f := strings.Split(hdr, ",")
	if len(f) >= 3 {
		if us, err := strconv.ParseInt(f[2], 10, 64); err == nil {
			return fmt.Sprintf("[%5d.%06d] %s", us/1e6, us%1e6, text)
		}
	}
	return text
}
