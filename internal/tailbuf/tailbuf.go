// Package tailbuf keeps the end of a stream of text: the last lines of a
// console, a build or a process's output, for error messages. It is the
// one tail buffer of ktstr-go; it is internal because users have no
// reason to depend on it.
package tailbuf

import (
	"bytes"
	"strings"
	"sync"
)

// maxPartial bounds an unterminated line: output without newlines must
// not grow without bound, so past this it is kept as a line of its own.
const maxPartial = 4096

// Buffer is an io.Writer that keeps the last MaxLines lines written to it
// and, when MaxBytes > 0, drops the oldest kept lines while they hold more
// than MaxBytes bytes. OnLine, if set, sees every complete line as it
// arrives (even lines that later scroll out). The zero value keeps
// nothing; a Buffer is safe for concurrent use.
type Buffer struct {
	MaxLines int
	MaxBytes int
	OnLine   func(line string)

	mu      sync.Mutex
	lines   []string
	size    int
	partial []byte
}

// New returns a Buffer keeping the last maxLines lines.
func New(maxLines int) *Buffer { return &Buffer{MaxLines: maxLines} }

// Write implements io.Writer; it never fails.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.partial = append(b.partial, p...)
	for {
		i := bytes.IndexByte(b.partial, '\n')
		if i < 0 {
			break
		}
		b.add(strings.TrimRight(string(b.partial[:i]), "\r"))
		b.partial = b.partial[i+1:]
	}
	if len(b.partial) > maxPartial {
		b.add(string(b.partial))
		b.partial = b.partial[:0]
	}
	return len(p), nil
}

// add keeps line, dropping the oldest beyond the limits; b.mu is held.
func (b *Buffer) add(line string) {
	if b.OnLine != nil {
		b.OnLine(line)
	}
	b.lines = append(b.lines, line)
	b.size += len(line) + 1
	for len(b.lines) > 0 && (len(b.lines) > b.MaxLines || (b.MaxBytes > 0 && b.size > b.MaxBytes && len(b.lines) > 1)) {
		b.size -= len(b.lines[0]) + 1
		b.lines = b.lines[1:]
	}
}

// String returns the kept lines joined by newlines, followed by any
// unterminated last line. A nil Buffer is empty.
func (b *Buffer) String() string {
	if b == nil {
		return ""
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s := strings.Join(b.lines, "\n")
	if len(b.partial) > 0 {
		if s != "" {
			s += "\n"
		}
		s += string(b.partial)
	}
	return s
}

// Last returns the last n lines of s, without a trailing newline.
func Last(s string, n int) string {
	b := New(n)
	b.Write([]byte(strings.TrimRight(s, "\n") + "\n"))
	return b.String()
}
