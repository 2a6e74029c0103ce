package native

import (
	"io"
	"sync"
)

// pumpStdin feeds console input to COM1. r is the caller's (usually
// os.Stdin), not ours to close, and a blocked Read cannot be interrupted:
// the goroutine ends at the first Read that returns after the VM stopped,
// dropping that input rather than raising an IRQ on a released VM.
func (m *machine) pumpStdin(r io.Reader) {
	buf := make([]byte, 256)
	for !m.stopped.Load() {
		n, err := r.Read(buf)
		if n > 0 && !m.input(buf[:n]) {
			return
		}
		if err != nil {
			return
		}
	}
}

// input queues console input on COM1 and reports whether the VM still
// runs to take it. The VM is released only after it stopped, so the
// check holds until RUnlock.
func (m *machine) input(p []byte) bool {
	m.liveMu.RLock()
	defer m.liveMu.RUnlock()
	if m.stopped.Load() {
		return false
	}
	m.com1.receive(p)
	return true
}

// consoleSink batches console bytes into lines: each byte is a VM exit,
// but the writers should see whole lines.
type consoleSink struct {
	mu  sync.Mutex
	buf []byte
	w   []io.Writer
}

func (c *consoleSink) writeByte(b byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf = append(c.buf, b)
	if b == '\n' || len(c.buf) >= 512 {
		c.flushLocked()
	}
}

func (c *consoleSink) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushLocked()
}

func (c *consoleSink) flushLocked() {
	if len(c.buf) == 0 {
		return
	}
	for _, w := range c.w {
		_, _ = w.Write(c.buf)
	}
	c.buf = c.buf[:0]
}

// byteQueue is an unbounded pipe: the vCPU thread never blocks on a slow
// reader of the data channel.
type byteQueue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	buf    []byte
	closed bool
}

func newByteQueue() *byteQueue {
	q := &byteQueue{}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *byteQueue) writeByte(b byte) {
	q.mu.Lock()
	q.buf = append(q.buf, b)
	q.mu.Unlock()
	q.cond.Signal()
}

func (q *byteQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

func (q *byteQueue) Read(p []byte) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.buf) == 0 && !q.closed {
		q.cond.Wait()
	}
	if len(q.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, q.buf)
	q.buf = q.buf[n:]
	return n, nil
}
