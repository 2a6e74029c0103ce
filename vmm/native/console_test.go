package native

import (
	"io"
	"testing"
	"time"
)

// stepReader hands out one chunk per Read and announces every Read on
// calls, so a test knows the previous chunk has been dealt with.
type stepReader struct {
	calls  chan struct{}
	chunks chan []byte
}

func (r *stepReader) Read(p []byte) (int, error) {
	r.calls <- struct{}{}
	b, ok := <-r.chunks
	if !ok {
		return 0, io.EOF
	}
	return copy(p, b), nil
}

func TestPumpStdinStopsWithTheVM(t *testing.T) {
	m := &machine{com1: newUART(comConsoleIRQ, func(uint32, bool) {}, func(byte) {})}
	r := &stepReader{calls: make(chan struct{}, 1), chunks: make(chan []byte)}
	done := make(chan struct{})
	go func() {
		m.pumpStdin(r)
		close(done)
	}()
	received := func() string {
		m.com1.mu.Lock()
		defer m.com1.mu.Unlock()
		return string(m.com1.rx)
	}

	<-r.calls
	r.chunks <- []byte("ls\n")
	<-r.calls // the pump is reading again: "ls\n" went to COM1
	if got := received(); got != "ls\n" {
		t.Fatalf("COM1 received %q while the VM runs, want %q", got, "ls\n")
	}

	m.stopped.Store(true)
	r.chunks <- []byte("late\n")
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("pumpStdin still running after the VM stopped")
	}
	if got := received(); got != "ls\n" {
		t.Errorf("COM1 received %q after the VM stopped, want only %q", got, "ls\n")
	}
}
