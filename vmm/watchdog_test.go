package vmm

import (
	"context"
	"testing"
	"time"
)

func TestWatch(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	closed := make(chan struct{})
	close(closed)
	tests := []struct {
		name       string
		ctx        context.Context
		timeout    time.Duration
		done       chan struct{}
		wantStop   bool
		wantReason ExitReason
		wantDetail string
	}{
		{"timeout", context.Background(), time.Millisecond, make(chan struct{}), true, ExitTimeout, "no power-off within 1ms; VM killed"},
		{"context ended", cancelled, 0, make(chan struct{}), true, ExitKilled, "VM killed: context canceled"},
		{"stopped by itself", context.Background(), time.Hour, closed, false, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls []string
			var reason ExitReason
			Watch(tc.ctx, tc.timeout, tc.done, func(r ExitReason, detail string) {
				reason = r
				calls = append(calls, detail)
			})
			switch {
			case !tc.wantStop && len(calls) != 0:
				t.Fatalf("stop called with %q, want no call", calls)
			case tc.wantStop && len(calls) != 1:
				t.Fatalf("stop called %d times, want once", len(calls))
			case tc.wantStop && (reason != tc.wantReason || calls[0] != tc.wantDetail):
				t.Fatalf("stop(%s, %q), want stop(%s, %q)", reason, calls[0], tc.wantReason, tc.wantDetail)
			}
		})
	}
}
