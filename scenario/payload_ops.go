package scenario

import (
	"context"
	"fmt"

	"github.com/ktstr-go/ktstr/verdict"
)

// RunPayload is an op that runs p to its end (beside the step's workers,
// if it has any), then lets the step go on. Its findings join the
// scenario's; only a payload that cannot run at all stops the scenario.
func RunPayload(p Payload) Op {
	return Op{fmt.Sprintf("run_payload(%s)", p.name()), func(r *run) error {
		res, startErr := r.payload(context.Background(), p)
		r.payloadRes.Merge(res)
		return startErr
	}}
}

// StartPayload is an op that starts p and goes on at once: the step
// holds while it runs. The scenario waits for it (up to its timeout)
// before it stops the workers and checks.
func StartPayload(p Payload) Op {
	return Op{fmt.Sprintf("start_payload(%s)", p.name()), func(r *run) error {
		bg := &bgPayload{done: make(chan struct{})}
		r.payloads = append(r.payloads, bg)
		go func() {
			defer close(bg.done)
			bg.res, bg.err = r.payload(context.Background(), p)
		}()
		return nil
	}}
}

// bgPayload is a payload running in the background.
type bgPayload struct {
	done chan struct{}
	res  AssertResult
	err  error
}

// payload runs p for a scenario; the error says it could not start.
func (r *run) payload(ctx context.Context, p Payload) (AssertResult, error) {
	if p.Cgroup != "" {
		if _, err := r.group(p.Cgroup); err != nil {
			return AssertResult{}, fmt.Errorf("payload %s: %w", p.name(), err)
		}
	}
	_, res := r.ctx.runPayload(ctx, p)
	return res, nil
}

// waitPayloads waits for the background payloads and gathers their
// findings.
func (r *run) waitPayloads() {
	for _, bg := range r.payloads {
		<-bg.done
		r.payloadRes.Merge(bg.res)
		if bg.err != nil {
			r.payloadRes.Add(Detail{Check: "payload", Verdict: verdict.Fail, Worker: -1, Message: bg.err.Error()})
		}
	}
	r.payloads = nil
}
