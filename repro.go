package ktstr

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/probe"
	"github.com/ktstr-go/ktstr/timeline"
	"github.com/ktstr-go/ktstr/verdict"
)

// AutoReproEnv set to "off" turns auto-repro off for every run (the
// test's own switch is Opts.NoAutoRepro).
const AutoReproEnv = "KTSTR_AUTO_REPRO"

// reproCalls is how many calls before the failure a repro report shows.
const reproCalls = 40

// Repro is the automatic second run of a test whose scheduler died or
// whose guest stalled, with probes on the failure's path: the
// scheduler's callbacks, the functions on the stalled CPU's captured
// stack, the kernel's dispatch path and sched_ext's exit path. Its
// probes' tail shows the calls leading up to the failure, arguments
// included.
type Repro struct {
	// Why is what made the first run fail this way.
	Why    string       `json:"why"`
	Probes []probe.Spec `json:"probes"`
	// Verdict and Reasons are the second run's; Reproduced says whether
	// it failed again.
	Verdict    verdict.Verdict    `json:"verdict"`
	Reasons    []string           `json:"reasons,omitempty"`
	Reproduced bool               `json:"reproduced"`
	Results    *probe.Results     `json:"results,omitempty"`
	Timeline   *timeline.Timeline `json:"timeline,omitempty"`
	Took       time.Duration      `json:"took"`
	// Err is why the second run could not run at all.
	Err string `json:"error,omitempty"`
}

// Format writes what the second run saw.
func (r *Repro) Format(w io.Writer) {
	if r.Err != "" {
		fmt.Fprintf(w, "auto-repro of %q could not run: %s\n", r.Why, r.Err)
		return
	}
	again := "passed this time"
	if r.Reproduced {
		again = "failed again"
	}
	fmt.Fprintf(w, "auto-repro of %q: a second VM with probes on %s %s in %v\n", r.Why, probe.Format(r.Probes), again, r.Took.Round(time.Second))
	if r.Results != nil {
		r.Results.Format(w, reproCalls)
	}
}

// autoRepro runs the test again with probes when its first run failed by
// a scheduler death or a stall, unless turned off.
func autoRepro(ctx context.Context, spec bootSpec, ro RunOptions, res *Result, log *zap.Logger) *Repro {
	if spec.opts.NoAutoRepro || os.Getenv(AutoReproEnv) == "off" || res.Verdict != verdict.Fail || !spec.judged() {
		return nil
	}
	why := reproCause(res)
	if why == "" {
		return nil
	}
	specs := probe.Merge([]probe.Spec{{Func: probe.AllCallbacks}}, probe.FromStack(stallStack(res.Monitor)),
		probe.DispatchPath, probe.ExitPath)
	rs := spec
	rs.opts.Probes = probe.Merge(spec.opts.Probes, specs)
	rs.opts.NoAutoRepro = true
	// The second run is part of the first one's results (Result.Repro),
	// not a run of its own to compare against.
	ro.Console, ro.OnRecord, ro.OnMachine, ro.Out = nil, nil, nil, NoResults
	log.Info("auto-repro: running the test again with probes", zap.String("test", spec.name), zap.String("why", why))
	r := &Repro{Why: why, Probes: specs}
	t0 := time.Now()
	res2, err := boot(ctx, rs, ro)
	r.Took = time.Since(t0)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	r.Verdict, r.Reasons, r.Results, r.Timeline = res2.Verdict, res2.Reasons, res2.Probes, res2.Timeline
	r.Reproduced = res2.Verdict == verdict.Fail
	return r
}

// reproCause says why a failed run is worth a second one: its scheduler
// died, or the monitor saw a CPU stall.
func reproCause(res *Result) string {
	for _, rec := range res.Records {
		var ev guest.SchedEvent
		if rec.Kind == guest.KindSched && rec.Decode(&ev) == nil && ev.Event == "died" && ev.Exit != nil {
			return fmt.Sprintf("scheduler %s died: %s", ev.Name, ev.Exit.Reason)
		}
	}
	for _, why := range res.Reasons {
		if strings.HasPrefix(why, "monitor: cpu") && strings.Contains(why, " stalled") {
			return strings.SplitN(why, ";", 2)[0]
		}
	}
	return ""
}

var stackName = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_.]*)\+0x[0-9a-f]+`)

// stallStack lists the functions on the stalled CPUs' captured stacks
// (the part of each capture before what the other vCPUs were doing).
func stallStack(r *monitor.Report) []string {
	if r == nil {
		return nil
	}
	var out []string
	for _, c := range r.Captures {
		own, _, _ := strings.Cut(c.Where, "; meanwhile")
		for _, m := range stackName.FindAllStringSubmatch(own, -1) {
			out = append(out, m[1])
		}
	}
	return out
}
