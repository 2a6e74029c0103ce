package vmm

import (
	"bytes"
	"strings"
	"sync"
)

// tailBuffer keeps the last lines written to it, and remembers whether a
// kernel panic ever scrolled past (which the tail alone might lose).
type tailBuffer struct {
	mu       sync.Mutex
	max      int
	lines    []string
	partial  []byte
	panicked bool
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.partial = append(t.partial, p...)
	for {
		i := bytes.IndexByte(t.partial, '\n')
		if i < 0 {
			break
		}
		t.add(strings.TrimRight(string(t.partial[:i]), "\r"))
		t.partial = t.partial[i+1:]
	}
	// Unterminated garbage must not grow without bound.
	if len(t.partial) > 4096 {
		t.add(string(t.partial))
		t.partial = t.partial[:0]
	}
	return len(p), nil
}

// add keeps line, dropping the oldest beyond max; must hold mu.
func (t *tailBuffer) add(line string) {
	if strings.Contains(line, "Kernel panic - not syncing") {
		t.panicked = true
	}
	t.lines = append(t.lines, line)
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
}

// String returns the kept lines, newline-terminated.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.Join(t.lines, "\n")
	if len(t.partial) > 0 {
		s += "\n" + string(t.partial)
	}
	return s
}

// Panicked reports whether a kernel panic line was seen.
func (t *tailBuffer) Panicked() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.panicked
}
