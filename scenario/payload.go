package scenario

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/verdict"
)

// Payload is a program run in the guest as part of a scenario: a
// benchmark (hackbench, cyclictest, stress-ng), a test suite (the
// kernel's sched_ext selftests), any binary. Its output is read by
// Format into metrics and, for TAP, one case per result; checks bound
// the metrics. Run it with the RunPayload or StartPayload op (beside a
// step's workers, or alone), or Ctx.RunPayload.
//
// The program comes from the host: list Includes() in the test's
// ktstr.Opts.Includes and the initramfs packs it with its shared
// libraries; in the guest it is /include/<base name>.
//
//	var hackbench = scenario.Payload{
//		Program: "hackbench", Args: []string{"-g", "2", "-l", "50"},
//		Format:  scenario.RegexpOutput(`^Time: (?P<time>[0-9.]+)`),
//		Metrics: []scenario.Metric{{Name: "time", Unit: "s", Polarity: scenario.LowerBetter}},
//	}
//	ktstr.Run(t, ktstr.Opts{Includes: hackbench.Includes()}, func(ctx *scenario.Ctx) error {
//		return scenario.ExecuteSteps(ctx, scenario.Step{Ops: []scenario.Op{scenario.RunPayload(hackbench)}})
//	})
type Payload struct {
	// Name names the payload in results; empty means the program's base
	// name.
	Name string `json:"name,omitempty"`
	// Program is a host path or a bare name found in the host's PATH
	// (what Includes packs); in the guest /include/<base>, else the
	// guest's PATH.
	Program string   `json:"program"`
	Args    []string `json:"args,omitempty"`
	// Env is added to the environment (KEY=value).
	Env []string `json:"env,omitempty"`
	// Format reads the output; the zero format reads nothing.
	Format  OutputFormat  `json:"format,omitzero"`
	Metrics []Metric      `json:"metrics,omitempty"`
	Checks  []MetricCheck `json:"checks,omitempty"`
	// Cgroup runs the program in that cgroup of the scenario (created by
	// a def); empty leaves it in the test's.
	Cgroup string `json:"cgroup,omitempty"`
	// ExitCodes are the exit statuses that pass; empty means 0 only.
	ExitCodes []int `json:"exit_codes,omitempty"`
	// Timeout bounds the run; zero means DefaultPayloadTimeout.
	Timeout time.Duration `json:"timeout,omitempty"`
}

// DefaultPayloadTimeout bounds a payload without its own Timeout.
const DefaultPayloadTimeout = 2 * time.Minute

// maxPayloadOutput bounds the output kept from one run.
const maxPayloadOutput = 16 << 20

// payloadTail is how much of the output a result and its reasons keep.
const payloadTail = 16 << 10

// name is Name, else the program's base name.
func (p Payload) name() string {
	if p.Name != "" {
		return p.Name
	}
	return filepath.Base(p.Program)
}

// Includes are the host files the payload needs in the guest, for
// ktstr.Opts.Includes.
func (p Payload) Includes() []string { return []string{p.Program} }

// Validate reports a payload that cannot run or be read.
func (p Payload) Validate() error {
	if p.Program == "" {
		return errors.New("payload has no Program")
	}
	if err := p.Format.validate(p.Metrics); err != nil {
		return fmt.Errorf("payload %s: %w", p.name(), err)
	}
	seen := map[string]bool{}
	for _, m := range p.Metrics {
		if m.Name == "" || seen[m.Name] {
			return fmt.Errorf("payload %s: metric names must be unique and not empty (%q)", p.name(), m.Name)
		}
		seen[m.Name] = true
	}
	for _, c := range p.Checks {
		if !seen[c.Metric] && p.Format.Kind != FormatTAP {
			return fmt.Errorf("payload %s: check on metric %s, which is not declared", p.name(), c.Metric)
		}
	}
	return nil
}

// PayloadResult is one run of a payload: how it ended, what its output
// said and the verdict on it. The guest sends it to the host as a
// guest.KindPayload record.
type PayloadResult struct {
	Name string `json:"name"`
	// Label is the scheduler it ran under ("eevdf" without one), so
	// runs of one payload can be told apart and compared.
	Label    string          `json:"label"`
	Program  string          `json:"program"`
	Args     []string        `json:"args,omitempty"`
	ExitCode int             `json:"exit_code"`
	Wall     time.Duration   `json:"wall"`
	Verdict  verdict.Verdict `json:"verdict"`
	Metrics  []MetricValue   `json:"metrics,omitempty"`
	// Cases are the TAP results, one per test case.
	Cases []CaseResult `json:"cases,omitempty"`
	// Error says why the run or its output failed, if it did.
	Error string `json:"error,omitempty"`
	// Output is the tail of what the program printed.
	Output string `json:"output,omitempty"`
}

// Metric returns the named metric.
func (r PayloadResult) Metric(name string) (MetricValue, bool) {
	i := slices.IndexFunc(r.Metrics, func(v MetricValue) bool { return v.Name == name })
	if i < 0 {
		return MetricValue{}, false
	}
	return r.Metrics[i], true
}

// RunPayload runs p now, waits for it and judges it; the result goes to
// the host and into ctx.Result(). The error is non-nil when p failed.
func (c *Ctx) RunPayload(p Payload) (PayloadResult, error) {
	r, res := c.runPayload(context.Background(), p)
	c.Record(res)
	return r, res.Err()
}

// runPayload runs and judges p and emits its result record.
func (c *Ctx) runPayload(ctx context.Context, p Payload) (PayloadResult, AssertResult) {
	r := PayloadResult{Name: p.name(), Label: c.schedLabel(), Program: p.Program, Args: p.Args, ExitCode: -1}
	var res AssertResult
	if err := p.Validate(); err != nil {
		r.Verdict, r.Error = verdict.Fail, err.Error()
		res.Add(Detail{Check: "payload", Verdict: verdict.Fail, Cgroup: r.Name, Worker: -1, Message: err.Error()})
	} else {
		out, err := c.execPayload(ctx, p, &r)
		res = judgePayload(p, &r, out, err)
	}
	c.emit(guest.KindPayload, r)
	return r, res
}

// schedLabel names the scheduler a payload runs under.
func (c *Ctx) schedLabel() string {
	if c.Scheduler != nil {
		return c.Scheduler.Name()
	}
	return "eevdf"
}

// guestProgram finds p's program in the guest.
func (p Payload) guestProgram() (string, error) {
	if inc := guest.IncludePath(p.Program); fileExists(inc) {
		return inc, nil
	}
	if filepath.IsAbs(p.Program) && fileExists(p.Program) {
		return p.Program, nil
	}
	if path, err := exec.LookPath(filepath.Base(p.Program)); err == nil {
		return path, nil
	}
	return "", fmt.Errorf("program %s is not in the guest: add the payload's Includes() to ktstr.Opts.Includes (that packs it with its shared libraries)", p.Program)
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// execPayload runs the program to its end or its timeout and returns
// its output; r gets the exit code and wall time.
func (c *Ctx) execPayload(ctx context.Context, p Payload, r *PayloadResult) ([]byte, error) {
	prog, err := p.guestProgram()
	if err != nil {
		return nil, err
	}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultPayloadTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, p.Args...)
	cmd.Env = append(os.Environ(), p.Env...)
	cmd.Dir = os.TempDir()
	out := &cappedBuffer{max: maxPayloadOutput}
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so a timeout kills whatever it forked.
	attr := &syscall.SysProcAttr{Setpgid: true}
	if p.Cgroup != "" {
		fd, err := syscall.Open(c.Cgroups.Path(p.Cgroup), syscall.O_DIRECTORY|syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("cgroup %s for the payload: %w", p.Cgroup, err)
		}
		defer syscall.Close(fd)
		attr.UseCgroupFD, attr.CgroupFD = true, fd
	}
	cmd.SysProcAttr = attr
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	c.Log.Debug("payload start: " + prog + " " + strings.Join(p.Args, " "))
	t0 := time.Now()
	err = cmd.Run()
	r.Wall = time.Since(t0)
	if cmd.ProcessState != nil {
		r.ExitCode = cmd.ProcessState.ExitCode()
	}
	if ctx.Err() == context.DeadlineExceeded {
		return out.Bytes(), fmt.Errorf("did not finish within %s", timeout)
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return out.Bytes(), fmt.Errorf("running %s: %w", prog, err)
	}
	return out.Bytes(), nil
}

// judgePayload reads out and judges the run into r and an AssertResult.
func judgePayload(p Payload, r *PayloadResult, out []byte, runErr error) AssertResult {
	var res AssertResult
	r.Output = keepTail(string(out), payloadTail)
	fail := func(format string, args ...any) {
		msg := fmt.Sprintf("payload %s: ", r.Name) + fmt.Sprintf(format, args...)
		r.Error = msg
		res.Add(Detail{Check: "payload", Verdict: verdict.Fail, Cgroup: r.Name, Worker: -1, Message: msg})
	}
	switch {
	case runErr != nil:
		fail("%v%s", runErr, lastLines(out))
	case !exitOK(p, r.ExitCode):
		fail("exited with status %d%s", r.ExitCode, lastLines(out))
	}
	keys := make([]string, len(p.Metrics))
	for i, m := range p.Metrics {
		keys[i] = m.key()
	}
	parsed, perr := p.Format.parse(out, keys)
	if perr != nil && runErr == nil {
		fail("output could not be read: %v", perr)
	}
	for _, m := range p.Metrics {
		s := parsed.samples[m.key()]
		if len(s) == 0 {
			if !m.Optional && perr == nil && runErr == nil {
				fail("the output gave no %s (key %q)%s", m.Name, m.key(), lastLines(out))
			}
			continue
		}
		r.Metrics = append(r.Metrics, MetricValue{Name: m.Name, Value: aggregate(m.Agg, s), Unit: m.Unit, Polarity: m.Polarity, Samples: len(s)})
	}
	r.Cases = parsed.cases
	if p.Format.Kind == FormatTAP {
		r.Metrics = append(r.Metrics, tapCounts(parsed.cases)...)
	}
	for _, cs := range parsed.cases {
		res.Add(caseDetail(r.Name, cs))
	}
	for _, chk := range p.Checks {
		res.Add(chk.judge(r.Name, r.Metrics))
	}
	if res.Verdict < verdict.Fail {
		summary := make([]string, len(r.Metrics))
		for i, m := range r.Metrics {
			summary[i] = m.String()
		}
		res.Add(Detail{Check: "payload", Verdict: verdict.Pass, Cgroup: r.Name, Worker: -1,
			Message: fmt.Sprintf("%s exited %d in %.1fs: %s", r.Name, r.ExitCode, r.Wall.Seconds(), strings.Join(summary, ", "))})
	}
	r.Verdict = res.Verdict
	return res
}

func exitOK(p Payload, code int) bool {
	if len(p.ExitCodes) == 0 {
		return code == 0
	}
	return slices.Contains(p.ExitCodes, code)
}

// caseDetail is one TAP case as a finding of check "tap".
func caseDetail(payload string, c CaseResult) Detail {
	d := Detail{Check: "tap", Verdict: c.Verdict, Cgroup: payload, Worker: -1}
	switch c.Verdict {
	case verdict.Fail:
		d.Message = fmt.Sprintf("not ok %d %s%s", c.Num, c.Name, lastLines([]byte(c.Output)))
	case verdict.Skip:
		d.Message = fmt.Sprintf("ok %d %s # %s", c.Num, c.Name, c.Directive)
	default:
		d.Message = fmt.Sprintf("ok %d %s", c.Num, c.Name)
	}
	return d
}

func tapCounts(cases []CaseResult) []MetricValue {
	var pass, fail, skip float64
	for _, c := range cases {
		switch c.Verdict {
		case verdict.Pass:
			pass++
		case verdict.Fail:
			fail++
		default:
			skip++
		}
	}
	return []MetricValue{
		{Name: "passed", Value: pass, Samples: 1},
		{Name: "failed", Value: fail, Samples: 1},
		{Name: "skipped", Value: skip, Samples: 1},
	}
}

// lastLines is "; last lines: ..." with the output's last few lines.
func lastLines(out []byte) string {
	ls := lines(out)
	if len(ls) == 0 {
		return ""
	}
	ls = ls[max(0, len(ls)-6):]
	return "; last lines: " + strings.Join(ls, " | ")
}

// cappedBuffer keeps the first max bytes written to it; stdout and
// stderr share one, so it is safe for concurrent writers.
type cappedBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	max     int
	dropped int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room < len(p) {
		b.buf.Write(p[:max(room, 0)])
		b.dropped += len(p) - max(room, 0)
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *cappedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := bytes.Clone(b.buf.Bytes())
	if b.dropped > 0 {
		out = append(out, fmt.Sprintf("\n[ktstr: %d more bytes of output dropped]\n", b.dropped)...)
	}
	return out
}

// PayloadResults decodes every payload result in a run's records (host
// side), in the order they ran.
func PayloadResults(records []guest.Record) ([]PayloadResult, error) {
	var out []PayloadResult
	for _, rec := range records {
		if rec.Kind != guest.KindPayload {
			continue
		}
		var r PayloadResult
		if err := rec.Decode(&r); err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}
