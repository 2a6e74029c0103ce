package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/bpfmap"
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/results"
	"github.com/ktstr-go/ktstr/scenario"
	_ "github.com/ktstr-go/ktstr/scheds/catalog" // the registered tests
	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/verdict"
)

// defaultTest is what `ktstr run` runs without --test: a real sched_ext
// scheduler on two cgroups of workers.
const defaultTest = "demo"

func init() {
	register("run", "boot a VM and run a registered test (default: "+defaultTest+"), printing the verdict", runRun)
}

func runRun(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	name := fs.String("test", defaultTest, "registered test to run")
	list := fs.Bool("list", false, "list registered tests and exit")
	topo := fs.String("topology", "", "override the test's topology (N,L,C,T or 1n2l2c1t)")
	dur := fs.Duration("duration", 0, "override the scenario duration")
	kernelFlag := fs.String("kernel", "", "kernel to boot (path, version or cache key; default: KTSTR_KERNEL, then the cache)")
	backend := fs.String("backend", "auto", "VMM backend: auto, kvm, qemu or qemu-tcg")
	verbose := fs.Bool("v", false, "stream the guest console")
	out := fs.String("out", "", "results directory of the run (default: a new one under "+ktstr.RunsRoot()+")")
	sched := fs.String("scheduler", "", "scheduler file replacing the test's: a binary (static, or dynamic with its libraries) or a BPF object loaded by scxload (default: $"+ktstr.EnvScheduler+")")
	var schedArgs, mapWrites stringList
	fs.Var(&schedArgs, "sched-arg", "argument appended to the scheduler's command line; repeatable")
	fs.Var(&mapWrites, "map-write", "BPF map write at each attach, read back: "+bpfmap.Syntax+"; repeatable")
	wd := fs.Duration("watchdog", 0, "sched_ext watchdog timeout for any scheduler (at most 30s; default: the test's, else the scheduler's own)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *list {
		for _, t := range ktstr.Registered() {
			fmt.Println(t.Name)
		}
		return 0
	}
	t, ok := ktstr.Lookup(*name)
	if !ok {
		fmt.Fprintf(os.Stderr, "ktstr run: no test named %q; `ktstr run --list` shows them\n", *name)
		return 2
	}
	ro := ktstr.RunOptions{Kernel: *kernelFlag, Backend: *backend, Duration: *dur, Out: *out, Log: newLogger(), OnRecord: printRecord,
		Scheduler: *sched, SchedArgs: schedArgs, Watchdog: *wd}
	for _, mw := range mapWrites {
		w, err := bpfmap.ParseWrite(mw)
		if err != nil {
			fmt.Fprintf(os.Stderr, "ktstr run: --map-write: %v\n", err)
			return 2
		}
		ro.MapWrites = append(ro.MapWrites, w)
	}
	if *topo != "" {
		tp, err := topology.Parse(*topo)
		if err != nil {
			fmt.Fprintf(os.Stderr, "ktstr run: %v\n", err)
			return 2
		}
		ro.Topology = tp
	}
	if *verbose {
		ro.Console = os.Stderr
	}
	start := time.Now()
	res, err := ktstr.Boot(ctx, t, ro)
	if errors.Is(err, ktstr.ErrNoKernel) {
		fmt.Fprintf(os.Stderr, "ktstr run: %v\n", err)
		return 1
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "ktstr run: %v\n", err)
		return 1
	}
	if m := res.Monitor; m != nil {
		if m.Err != "" && len(m.Samples) == 0 {
			fmt.Printf("host monitor: off (%s)\n", m.Err)
		} else {
			fmt.Printf("host monitor: %s\n", m.Summarize())
		}
	}
	printSummary(res.Dir)
	if res.Watchdog != "" {
		fmt.Printf("sched_ext watchdog in force: %s\n", res.Watchdog)
	}
	where := fmt.Sprintf("%s, %s", res.Backend, res.Topology)
	if res.Backend == ktstr.HostBackend {
		where = "on this host, without a VM"
	}
	fmt.Printf("%s: %s (%s, %s)\n", t.Name, strings.ToUpper(res.Verdict.String()), where, time.Since(start).Round(100*time.Millisecond))
	for _, r := range res.Reasons {
		fmt.Printf("  - %s\n", r)
	}
	if !res.Passed() {
		fmt.Print(res.Explain())
	}
	if !res.Passed() && res.Verdict != verdict.Skip && res.Backend != ktstr.HostBackend {
		fmt.Printf("--- console tail (VM exit: %s) ---\n%s\n", res.Exit.Reason, res.Exit.ConsoleTail)
	}
	if res.Dir != "" {
		fmt.Printf("results: %s\n", filepath.Join(res.Dir, results.FileReport))
	}
	if !res.Passed() && res.Verdict != verdict.Skip {
		return 1
	}
	return 0
}

// printSummary draws the run's per-CPU sparklines and wake-latency
// histograms: block characters and colors on a terminal, ASCII otherwise.
func printSummary(dir string) {
	if dir == "" {
		return
	}
	if err := results.WriteSummary(os.Stdout, dir, results.TerminalStyle(os.Stdout)); err != nil {
		fmt.Fprintf(os.Stderr, "ktstr run: %v\n", err)
	}
}

// printRecord shows the guest's progress as it happens.
func printRecord(r guest.Record) {
	switch r.Kind {
	case guest.KindWorkers:
		var w struct {
			Reports []scenario.WorkerReport `json:"reports"`
		}
		if r.Decode(&w) == nil && len(w.Reports) > 0 {
			fmt.Fprintf(os.Stderr, "  guest +%-7s workers\n%s", r.Elapsed.Round(10*time.Millisecond), scenario.FormatReports(w.Reports))
			return
		}
		fallthrough
	case guest.KindPhase, guest.KindSched, guest.KindAssert:
		data := string(r.Data)
		if len(data) > 300 {
			data = data[:300] + "…"
		}
		fmt.Fprintf(os.Stderr, "  guest +%-7s %-8s %s\n", r.Elapsed.Round(10*time.Millisecond), r.Kind, data)
	}
}
