package kernel

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMeterReport(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name          string
		expect, steps int
		at            time.Duration
		want          string
	}{
		{"no previous build", 0, 10, time.Minute, "make bzImage: 10 steps, 1m0s elapsed (no earlier build in the cache to estimate the rest from)"},
		{"quarter done", 4000, 1000, 2 * time.Minute, "make bzImage: 1000 of about 4000 steps (25%), 2m0s elapsed, about 6m0s left"},
		{"nothing yet", 4000, 0, 30 * time.Second, "make bzImage: starting, 30s elapsed (the previous build took 4000 steps)"},
		{"past the estimate", 4000, 4100, 9 * time.Minute, "make bzImage: 4100 steps, more than the previous build's 4000; 9m0s elapsed, nearly done"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &meter{label: "make bzImage", expect: tt.expect, begun: t0, steps: tt.steps}
			if got := m.report(t0.Add(tt.at)); got != tt.want {
				t.Errorf("report:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for the meter's ticker goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Without a terminal, a silent stretch of make still gets progress lines:
// a ticker drives them, not the output.
func TestRunCmdPeriodicProgress(t *testing.T) {
	var out syncBuffer
	m := &meter{label: "make bzImage", periodic: &out, every: 20 * time.Millisecond, expect: 4}
	err := runCmd(context.Background(), t.TempDir(), nil, io.Discard, m, "make bzImage", "sh", "-c",
		`echo "  CC      kernel/fork.o"; echo "  CC      kernel/exit.o"; echo "warning: not a step"; sleep 0.3`)
	if err != nil {
		t.Fatal(err)
	}
	if m.Steps() != 2 {
		t.Errorf("counted %d steps, want 2", m.Steps())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) < 2 {
		t.Fatalf("%d progress lines over a silent 300 ms at a 20 ms interval, want several:\n%s", len(lines), out.String())
	}
	if !strings.HasPrefix(lines[len(lines)-1], "make bzImage: 2 of about 4 steps (50%)") {
		t.Errorf("last progress line %q", lines[len(lines)-1])
	}
	if strings.Contains(out.String(), "\r") {
		t.Error("periodic progress rewrites lines like a terminal status")
	}
}

func TestPreviousSteps(t *testing.T) {
	c := openTestCache(t)
	if got := previousSteps(c, "k", "h"); got != 0 {
		t.Errorf("empty cache: %d", got)
	}
	now := time.Now()
	store := func(key, kc string, steps int, at time.Time) {
		m := meta("6.12.1", kc, at)
		m.BuildSteps = steps
		storeFake(t, c, key, m, false)
	}
	store("other-fragment", "zz", 100, now)
	if got := previousSteps(c, "k", "h"); got != 100 {
		t.Errorf("any build's count: %d, want 100", got)
	}
	store("same-fragment", "h", 200, now.Add(-time.Hour))
	if got := previousSteps(c, "k", "h"); got != 200 {
		t.Errorf("the same fragment's count: %d, want 200", got)
	}
	store("k", "h", 300, now.Add(-2*time.Hour))
	if got := previousSteps(c, "k", "h"); got != 300 {
		t.Errorf("the same key's count: %d, want 300", got)
	}
}
