package ktstr

import (
	"context"
	"errors"

	"go.uber.org/zap"
)

// boot runs one VM to completion: plan it, start it, collect what it
// reports, judge it, and for a scheduler death or stall run it again
// with probes on the failure's path (autoRepro). The returned error means the harness could not run
// the VM at all; a run that ran and failed is a Result.
func boot(ctx context.Context, spec bootSpec, ro RunOptions) (*Result, error) {
	log := ro.Log
	if log == nil {
		log = zap.NewNop()
	}
	sink := newResultsSink(spec, &ro) // results directory: whole console, record arrival times
	p, err := plan(ctx, spec, ro, log)
	var sk *skipped
	if errors.As(err, &sk) {
		log.Info("VM skipped", zap.String("test", spec.name), zap.String("why", sk.why))
		return skipResult(spec.name, p.set, sk), nil
	}
	if err != nil {
		return nil, err
	}
	r, err := start(ctx, p, ro, log)
	if err != nil {
		return nil, err
	}
	res := judge(r, collect(r, ro.OnRecord))
	r.intro.finish(res)
	res.Repro = autoRepro(ctx, spec, ro, res, log)
	if res.Monitor != nil {
		log.Debug("host monitor", zap.String("test", res.Test), zap.Stringer("summary", res.Monitor.Summarize()), zap.String("error", res.Monitor.Err))
	}
	log.Info("VM done", zap.String("test", res.Test), zap.Stringer("verdict", res.Verdict),
		zap.Stringer("exit", res.Exit.Reason), zap.Duration("took", res.Exit.Duration))
	res.Dir = sink.write(p, res, log)
	return res, nil
}
