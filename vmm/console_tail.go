package vmm

import (
	"strings"
	"sync/atomic"

	"github.com/ktstr-go/ktstr/internal/tailbuf"
)

// panicLine is what the kernel prints when it panics.
const panicLine = "Kernel panic - not syncing"

// ConsoleTail keeps the end of a guest's console for Exit.ConsoleTail and
// remembers whether a kernel panic ever scrolled past, which the tail
// alone might lose. Both backends write the console through one.
type ConsoleTail struct {
	buf      tailbuf.Buffer
	panicked atomic.Bool
}

// NewConsoleTail keeps the last lines lines.
func NewConsoleTail(lines int) *ConsoleTail {
	c := &ConsoleTail{}
	c.buf.MaxLines = lines
	c.buf.OnLine = func(l string) {
		if strings.Contains(l, panicLine) {
			c.panicked.Store(true)
		}
	}
	return c
}

// Write implements io.Writer.
func (c *ConsoleTail) Write(p []byte) (int, error) { return c.buf.Write(p) }

// String returns the kept lines.
func (c *ConsoleTail) String() string { return c.buf.String() }

// Panicked reports whether a kernel panic line was seen.
func (c *ConsoleTail) Panicked() bool { return c.panicked.Load() }
