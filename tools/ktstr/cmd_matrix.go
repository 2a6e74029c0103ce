package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/tests/scheds"
)

// matrixRow is one scheduler on the fixed scenario and what must happen.
type matrixRow struct {
	name   string
	sched  *scenario.Scheduler // nil: EEVDF
	expect string              // ktstr.VerdictPass or VerdictFail
	reason string              // for failures: a substring some reason must hold
}

var matrixRows = []matrixRow{
	{"eevdf", scenario.EEVDF, ktstr.VerdictPass, ""},
	{"ktstr_fifo", scheds.FIFO, ktstr.VerdictPass, ""},
	{"ktstr_vtime", scheds.VTime, ktstr.VerdictPass, ""},
	{"scx_simple", scheds.Simple, ktstr.VerdictPass, ""},
	{"scx_qmap", scheds.QMap, ktstr.VerdictPass, ""},
	{"scx_central", scheds.Central, ktstr.VerdictPass, ""},
	{"scx_flatcg", scheds.FlatCG, ktstr.VerdictPass, ""},
	{"ktstr_starve", scheds.Starve, ktstr.VerdictFail, "starvation"},
	{"ktstr_stall", scheds.Stall, ktstr.VerdictFail, "runnable task stall"},
	{"ktstr_error", scheds.Error, ktstr.VerdictFail, "scx_bpf_error"},
	{"ktstr_unfair", scheds.Unfair, ktstr.VerdictFail, "unfair"},
}

// Matrix scenario: two cgroups (cg_0, cg_1) of two spinning workers each.
const (
	matrixDuration = 4 * time.Second
	matrixWatchdog = 2 * time.Second
	spinCommand    = "matrix-spin"
	// A worker below this fraction of the mean CPU time is starved.
	starveFraction = 0.05
	// Equal cgroups whose CPU time differs by more than this are unfair.
	unfairRatio = 2.0
)

func init() {
	register("matrix", "run every reference, broken and kernel-tree scheduler on a fixed scenario", cmdMatrix)
	register(spinCommand, "(internal) a matrix worker: spin until killed", func(context.Context, []string) int {
		//lint:ignore SA5002 spinning is the workload; the matrix kills it
		for {
		}
	})
	for _, r := range matrixRows {
		topo := ktstr.DefaultTopology
		if r.sched != nil && r.sched.Topology != (ktstr.DefaultTopology) && r.sched.Topology.CPUs() > 0 {
			topo = r.sched.Topology
		}
		ktstr.Register("matrix_"+r.name, ktstr.Opts{
			Topology: topo, Scheduler: r.sched, Duration: matrixDuration, Watchdog: matrixWatchdog,
		}, matrixBody)
	}
}

// matrixBody runs in the guest: spin two workers in each of cg_0 and cg_1
// for the duration, then judge CPU time from /proc: starvation (a worker
// far below the mean) and unfairness (the cgroups' totals apart).
func matrixBody(ctx *scenario.Ctx) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	type worker struct {
		cg  string
		cmd *exec.Cmd
	}
	var ws []worker
	defer func() {
		for _, w := range ws {
			_ = w.cmd.Process.Kill()
			_ = w.cmd.Wait()
		}
	}()
	env := []string{"PATH=/bin:/sched"} // not a guest child: the CLI runs the spinner
	for _, cg := range []string{"cg_0", "cg_1"} {
		dir := filepath.Join(ktstr.CgroupRoot, cg)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
		defer os.Remove(dir)
		for i := 0; i < 2; i++ {
			c := exec.Command(self, spinCommand)
			c.Env = env
			if err := c.Start(); err != nil {
				return fmt.Errorf("starting a spinner: %w", err)
			}
			ws = append(ws, worker{cg, c})
			if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(c.Process.Pid)), 0); err != nil {
				return fmt.Errorf("moving worker into %s: %w", cg, err)
			}
		}
	}
	time.Sleep(matrixDuration)
	ticks := make([]float64, len(ws))
	perCg := map[string]float64{}
	var sum float64
	for i, w := range ws {
		t, err := cpuTicks(w.cmd.Process.Pid)
		if err != nil {
			return err
		}
		ticks[i] = t
		perCg[w.cg] += t
		sum += t
	}
	mean := sum / float64(len(ws))
	var reasons []string
	for i, w := range ws {
		if ticks[i] < starveFraction*mean {
			reasons = append(reasons, fmt.Sprintf("starvation: worker %d in %s got %.0f CPU ticks in %v (mean %.0f)", i, w.cg, ticks[i], matrixDuration, mean))
		}
	}
	lo, hi := perCg["cg_0"], perCg["cg_1"]
	if lo > hi {
		lo, hi = hi, lo
	}
	if hi > unfairRatio*lo {
		reasons = append(reasons, fmt.Sprintf("unfair: equal cgroups got %.0f and %.0f CPU ticks (cg_0, cg_1)", perCg["cg_0"], perCg["cg_1"]))
	}
	if len(reasons) > 0 {
		return fmt.Errorf("%s", strings.Join(reasons, "; "))
	}
	return nil
}

func cpuTicks(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("reading worker stats: %w", err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndex(s, ")")+2:])
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return u + st, nil
}

func cmdMatrix(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("matrix", flag.ContinueOnError)
	only := fs.String("only", "", "comma-separated row names to run (default: all)")
	backend := fs.String("backend", "auto", "VMM backend: auto, qemu, qemu-tcg")
	kernel := fs.String("kernel", "", "kernel to boot (any KTSTR_KERNEL form)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	want := map[string]bool{}
	for _, n := range strings.Split(*only, ",") {
		if n != "" {
			want[n] = true
		}
	}
	// Fixed widths rather than a tabwriter: rows print as each VM ends.
	const rowFmt = "%-13s %-31s %-7s %-8s %-6s %s\n"
	fmt.Printf(rowFmt, "SCHEDULER", "EXPECTED", "ACTUAL", "MATCH", "TIME", "REASON")
	allOK, ran := true, 0
	for _, r := range matrixRows {
		if len(want) > 0 && !want[r.name] {
			continue
		}
		ran++
		rt, _ := ktstr.Lookup("matrix_" + r.name)
		t0 := time.Now()
		res, err := ktstr.Boot(ctx, rt, ktstr.RunOptions{Backend: *backend, Kernel: *kernel})
		actual, reason := "error", ""
		if err != nil {
			reason = err.Error()
		} else {
			actual, reason = res.Verdict, strings.Join(res.Reasons, "; ")
		}
		ok := actual == r.expect && (r.reason == "" || strings.Contains(reason, r.reason))
		allOK = allOK && ok
		mark := "ok"
		if !ok {
			mark = "MISMATCH"
		}
		exp := r.expect
		if r.reason != "" {
			exp += " (" + r.reason + ")"
		}
		fmt.Printf(rowFmt, r.name, exp, actual, mark, time.Since(t0).Round(time.Second), oneLine(reason, 160))
		if ctx.Err() != nil {
			break
		}
	}
	if ran == 0 {
		fmt.Fprintf(os.Stderr, "ktstr matrix: -only %q matched no row\n", *only)
		return 2
	}
	if !allOK {
		return 1
	}
	return 0
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "..."
	}
	return s
}
