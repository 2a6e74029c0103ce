package ktstr

import (
	"testing"
	"time"
)

func TestFitTimeout(t *testing.T) {
	none := RunOptions{}
	if got := none.fitTimeout(3 * time.Minute); got != 3*time.Minute {
		t.Errorf("no deadline: %v, want the timeout unchanged", got)
	}
	near := RunOptions{Deadline: time.Now().Add(2 * time.Minute)}
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		min     time.Duration
		max     time.Duration
	}{
		{"cut to end before the deadline", 10 * time.Minute, 2*time.Minute - DeadlineGrace - 5*time.Second, 2*time.Minute - DeadlineGrace},
		{"no timeout (a shell) gets one", 0, 2*time.Minute - DeadlineGrace - 5*time.Second, 2*time.Minute - DeadlineGrace},
		{"a shorter one stays", 30 * time.Second, 30 * time.Second, 30 * time.Second},
	} {
		if got := near.fitTimeout(tc.timeout); got < tc.min || got > tc.max {
			t.Errorf("%s: %v, want within [%v, %v]", tc.name, got, tc.min, tc.max)
		}
	}
	past := RunOptions{Deadline: time.Now().Add(-time.Second)}
	if got := past.fitTimeout(time.Minute); got <= 0 || got > time.Second {
		t.Errorf("deadline passed: %v, want a tiny positive timeout (0 would mean none)", got)
	}
}
