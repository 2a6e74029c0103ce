package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/scheds"
	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/verdict"
)

func init() { register("", newVerifierCmd) }

// verifierFlags are `ktstr verifier`'s flags.
type verifierFlags struct {
	kernels, topos []string
	backend        backendValue
	showLog        bool
	outDir         string
	level          int
}

func newVerifierCmd(e *env) *cobra.Command {
	var f verifierFlags
	c := &cobra.Command{
		Use:   "verifier [SCHEDULER|PATH]...",
		Short: "Load every BPF program of the schedulers in a VM and report verifier statistics and logs",
		Long: `Loads each in-repo and kernel-tree scheduler's BPF programs in a VM (without
attaching) and reports the verifier's figures per program. Several --kernel or
--topology values compare them side by side. Exits 1 when the verifier
rejected a program (known loader gaps excepted).

Schedulers: ` + strings.Join(verifyTargetNames(), ", ") + ` (default: all).
PATH: a BPF object (.bpf.o), or a scheduler binary whose embedded BPF
objects are verified.`,
		Example: `  ktstr verifier ktstr_fifo --log
  ktstr verifier --kernel 6.12 --kernel ./linux scx_simple
  ktstr verifier ./build/scx_mine.bpf.o`,
		GroupID: groupTest,
		Args: func(_ *cobra.Command, args []string) error {
			_, err := selectTargets(args)
			return err
		},
		ValidArgsFunction: func(_ *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
			return verifyTargetNames(), cobra.ShellCompDirectiveDefault
		},
		RunE: func(c *cobra.Command, args []string) error { return runVerifier(c.Context(), e, &f, args) },
	}
	fl := c.Flags()
	fl.StringArrayVar(&f.kernels, "kernel", nil, kernelUsage+"; twice or more: compare kernels side by side")
	_ = c.RegisterFlagCompletionFunc("kernel", completeKernels)
	fl.StringArrayVar(&f.topos, "topology", nil, "VM topology (default 1n1l2c1t); twice or more: compare topologies side by side")
	addBackendFlag(c, &f.backend)
	fl.BoolVar(&f.showLog, "log", false, "print each program's compact verifier log (register states dropped, repeated cycles collapsed to [×N])")
	fl.StringVarP(&f.outDir, "out", "o", "", "write raw and compact logs to `DIR`/<config>/<scheduler>/<program>.{log,compact}")
	fl.IntVar(&f.level, "level", 2, "verifier log level: 2 logs every instruction; 1 keeps only a rejected path (faster, smaller)")
	return c
}

func runVerifier(ctx context.Context, e *env, f *verifierFlags, args []string) error {
	if f.level != 1 && f.level != 2 {
		return usagef("--level %d: want 1 or 2", f.level)
	}
	targets, err := selectTargets(args)
	if err != nil {
		return usageErr(err)
	}
	configs, err := verifyConfigs(f.kernels, f.topos)
	if err != nil {
		return usageErr(err)
	}
	for _, c := range configs {
		if err := checkVM(c.kernel, f.backend); err != nil {
			return err
		}
	}
	log := e.logger()
	needTree := slices.ContainsFunc(targets, func(t scheds.VerifyTarget) bool { return strings.HasPrefix(t.Object, "scx_") })
	built, err := scheds.Build(ctx, scheds.BuildConfig{KernelTree: needTree, Log: log})
	if err != nil {
		return fmt.Errorf("building schedulers: %w", err)
	}
	results := make([]map[string]verifiedProg, len(configs))
	var order []string // sched/prog keys in first-seen order
	failed := false
	for i, c := range configs {
		fmt.Fprintf(e.stderr, "ktstr verifier: verifying %d scheduler(s) on %s ...\n", len(targets), c.label)
		t0 := time.Now()
		progs, err := verifyInVM(ctx, c, targets, built, string(f.backend), f.level, log)
		if err != nil {
			return fmt.Errorf("%s: %w", c.label, err)
		}
		fmt.Fprintf(e.stderr, "ktstr verifier: %s done in %v\n", c.label, time.Since(t0).Round(time.Second))
		results[i] = map[string]verifiedProg{}
		for _, p := range progs {
			k := p.sched + "/" + p.prog
			if !slices.Contains(order, k) {
				order = append(order, k)
			}
			results[i][k] = p
			failed = failed || (!p.loaded && p.gap == "")
		}
		if f.outDir != "" {
			if err := writeLogs(filepath.Join(f.outDir, sanitize(c.label)), progs); err != nil {
				return err
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if len(configs) == 1 {
		printVerifyTable(e, configs[0].label, order, results[0])
	} else {
		printVerifyComparison(e, configs, order, results)
	}
	if f.showLog {
		printCompactLogs(e.stdout, configs, order, results)
	}
	if failed {
		return exitCode(exitFail)
	}
	return nil
}

// printCompactLogs prints every program's compact verifier log.
func printCompactLogs(w io.Writer, configs []verifyConfig, order []string, results []map[string]verifiedProg) {
	for i, c := range configs {
		for _, k := range order {
			p, ok := results[i][k]
			if !ok {
				continue
			}
			cl := p.compact
			fmt.Fprintf(w, "\n=== %s  %s  (%d log lines, %d without register states, %d compact)\n", k, c.label, cl.RawLines, cl.Kept, len(cl.Lines))
			for _, l := range cl.Lines {
				fmt.Fprintln(w, l)
			}
		}
	}
}

// verifyConfig is one VM the programs are verified in.
type verifyConfig struct {
	kernel string
	topo   topology.Topology
	label  string
}

// verifiedProg is one program's outcome in one configuration.
type verifiedProg struct {
	sched, prog string
	loaded      bool
	err         string
	stats       scheds.VerifierStats
	hasStats    bool
	log         string
	gap         string // the target's known loader gap, if any
	compact     scheds.CompactLog
}

func verifyTargetNames() []string {
	var n []string
	for _, t := range scheds.VerifyTargets() {
		n = append(n, t.Name)
	}
	return n
}

func selectTargets(names []string) ([]scheds.VerifyTarget, error) {
	all := scheds.VerifyTargets()
	if len(names) == 0 {
		return all, nil
	}
	var out []scheds.VerifyTarget
	for _, n := range names {
		if isPath(n) {
			ts, err := scheds.VerifyTargetsFor(n)
			if err != nil {
				return nil, err
			}
			out = append(out, ts...)
			continue
		}
		i := slices.IndexFunc(all, func(t scheds.VerifyTarget) bool {
			return t.Name == n || t.Object == n || "ktstr_"+t.Object == n
		})
		if i < 0 {
			return nil, fmt.Errorf("unknown scheduler %q: known ones are %s, or give the path of a BPF object or of a scheduler binary that embeds its objects",
				n, strings.Join(verifyTargetNames(), ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
}

// isPath tells a file argument from a scheduler's name.
func isPath(arg string) bool {
	if strings.ContainsRune(arg, '/') {
		return true
	}
	st, err := os.Stat(arg)
	return err == nil && st.Mode().IsRegular()
}

// verifyConfigs crosses the kernels with the topologies.
func verifyConfigs(kernels, topos []string) ([]verifyConfig, error) {
	if len(kernels) == 0 {
		kernels = []string{""}
	}
	if len(topos) == 0 {
		topos = []string{"1n1l2c1t"}
	}
	var out []verifyConfig
	for _, k := range kernels {
		for _, ts := range topos {
			t, err := topology.Parse(ts)
			if err != nil {
				return nil, fmt.Errorf("--topology: %w", err)
			}
			var parts []string
			if len(kernels) > 1 || k != "" {
				kl := k
				if kl == "" {
					kl = "default"
				}
				parts = append(parts, filepath.Base(kl))
			}
			parts = append(parts, t.String())
			out = append(out, verifyConfig{kernel: k, topo: t, label: strings.Join(parts, " ")})
		}
	}
	if len(out) > 4 {
		return nil, fmt.Errorf("%d kernel×topology combinations: each is a VM; compare at most 4 at once", len(out))
	}
	return out, nil
}

// verifyScript is the guest side: one scxload -verify per target, each
// introduced by a marker line; {cpus} becomes the possible CPU count.
func verifyScript(targets []scheds.VerifyTarget, built *scheds.Built, level int) (script string, files map[string]string, err error) {
	files = map[string]string{guest.SchedPath(scxloadName): built.Loader}
	var b strings.Builder
	b.WriteString("c=$(cat /sys/devices/system/cpu/possible); c=${c##*-}; cpus=$((c+1))\n")
	for i, t := range targets {
		obj, err := t.HostObject(built)
		if err != nil {
			return "", nil, err
		}
		g := guest.SchedPath(t.Object + ".bpf.o")
		if t.Path != "" {
			g = guest.SchedPath(fmt.Sprintf("user%d.bpf.o", i))
		}
		files[g] = obj
		args := []string{guest.SchedPath("scxload"), "-obj", g, "-verify", "-gzip", fmt.Sprintf("-verify-log=%d", level)}
		for _, a := range t.Args {
			args = append(args, "'"+strings.ReplaceAll(a, scheds.CPUsPlaceholder, "'$cpus'")+"'")
		}
		fmt.Fprintf(&b, "echo '%s%s'\n%s 2>&1\n", scheds.VerifyMarker, t.Name, strings.Join(args, " "))
	}
	return b.String(), files, nil
}

func verifyInVM(ctx context.Context, c verifyConfig, targets []scheds.VerifyTarget, built *scheds.Built, backend string, level int, log *zap.Logger) ([]verifiedProg, error) {
	script, files, err := verifyScript(targets, built, level)
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp("", "ktstr-verify-*.sh")
	if err != nil {
		return nil, fmt.Errorf("writing the guest script: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(script); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("writing the guest script: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("writing the guest script: %w", err)
	}
	files[guest.SchedPath("verify.sh")] = tmp.Name()
	var stdout, stderr bytes.Buffer
	res, err := ktstr.Shell(ctx, ktstr.ShellOptions{
		Topology: c.topo,
		Exec:     "sh /sched/verify.sh",
		Files:    files,
		Stdout:   &stdout,
		Stderr:   &stderr,
		Timeout:  15 * time.Minute,
	}, ktstr.RunOptions{Kernel: c.kernel, Backend: backend, Log: log})
	if err != nil {
		return nil, err
	}
	if res.Verdict != verdict.Pass {
		return nil, fmt.Errorf("VM %s: %s\n%s", res.Verdict, strings.Join(res.Reasons, "; "), stderr.String())
	}
	outs, err := scheds.ParseVerifyOutput(&stdout)
	if err != nil {
		return nil, err
	}
	gaps := map[string]string{}
	for _, t := range targets {
		gaps[t.Name] = t.LoaderGap
	}
	var progs []verifiedProg
	for _, o := range outs {
		if len(o.Progs) == 0 {
			progs = append(progs, verifiedProg{sched: o.Name, prog: "(load)", err: strings.Join(o.Other, "; ")})
			continue
		}
		for _, p := range o.Progs {
			vp := verifiedProg{sched: o.Name, prog: p.Program, loaded: p.Loaded, err: p.Error, log: p.Log, gap: gaps[o.Name]}
			vp.stats, vp.hasStats = scheds.ParseVerifierStats(p.Log)
			vp.compact = scheds.CompactVerifierLog(p.Log)
			if !vp.hasStats && p.Insns > 0 {
				vp.stats = scheds.VerifierStats{Insns: p.Insns, TotalStates: p.TotalStates, PeakStates: p.PeakStates}
				vp.hasStats = true
			}
			progs = append(progs, vp)
		}
	}
	if len(outs) != len(targets) {
		return progs, fmt.Errorf("guest reported %d of %d schedulers (exit code %d): %s", len(outs), len(targets), res.ExitCode, stderr.String())
	}
	return progs, nil
}

func status(p verifiedProg) string {
	switch {
	case p.loaded:
		return "ok"
	case p.gap != "":
		return "LOADER-GAP"
	}
	return "REJECTED"
}

func printVerifyTable(e *env, label string, order []string, res map[string]verifiedProg) {
	w := e.stdout
	fmt.Fprintf(w, "verifier on %s\n", label)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCHEDULER\tPROGRAM\tRESULT\tINSNS\tTOTAL_STATES\tPEAK_STATES\tLOG LINES\tCOMPACT\tTIME\t")
	for _, k := range order {
		p := res[k]
		cl := p.compact
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%v\t\n", p.sched, p.prog, status(p),
			p.stats.Insns, p.stats.TotalStates, p.stats.PeakStates, cl.RawLines, len(cl.Lines), p.stats.Time.Round(time.Millisecond))
	}
	tw.Flush()
	printErrors(w, order, res)
}

func printErrors(w io.Writer, order []string, res map[string]verifiedProg) {
	for _, k := range order {
		if p := res[k]; !p.loaded {
			fmt.Fprintf(w, "%s: %s\n", k, oneLine(p.err, 300))
			if p.gap != "" {
				fmt.Fprintf(w, "  (known loader gap, not counted as a failure: %s)\n", p.gap)
			}
		}
	}
}

// printVerifyComparison prints one row per program with each
// configuration's figures and the delta of each against the first.
func printVerifyComparison(e *env, configs []verifyConfig, order []string, results []map[string]verifiedProg) {
	w := e.stdout
	for i, c := range configs {
		fmt.Fprintf(w, "[%c] %s\n", 'A'+i, c.label)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	hdr := []string{"SCHEDULER", "PROGRAM"}
	for _, m := range []string{"INSNS", "STATES", "PEAK"} {
		for i := range configs {
			hdr = append(hdr, fmt.Sprintf("%s[%c]", m, 'A'+i))
			if i > 0 {
				hdr = append(hdr, fmt.Sprintf("Δ%c", 'A'+i))
			}
		}
	}
	hdr = append(hdr, "RESULT")
	fmt.Fprintln(tw, strings.Join(hdr, "\t")+"\t")
	for _, k := range order {
		sched, prog, _ := strings.Cut(k, "/")
		row := []string{sched, prog}
		metric := func(p verifiedProg) int { return p.stats.Insns }
		for _, m := range []func(verifiedProg) int{metric, func(p verifiedProg) int { return p.stats.TotalStates }, func(p verifiedProg) int { return p.stats.PeakStates }} {
			base, baseOK := results[0][k]
			for i := range configs {
				p, ok := results[i][k]
				if !ok {
					row = append(row, "-")
				} else {
					row = append(row, fmt.Sprint(m(p)))
				}
				if i > 0 {
					row = append(row, delta(base, baseOK, p, ok, m))
				}
			}
		}
		var st []string
		for i := range configs {
			if p, ok := results[i][k]; ok {
				st = append(st, status(p))
			} else {
				st = append(st, "-")
			}
		}
		row = append(row, strings.Join(st, "/"))
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	tw.Flush()
	for i := range configs {
		printErrors(w, order, results[i])
	}
}

func delta(a verifiedProg, aok bool, b verifiedProg, bok bool, m func(verifiedProg) int) string {
	if !aok || !bok {
		return "-"
	}
	d := m(b) - m(a)
	switch {
	case d == 0:
		return "0"
	case m(a) == 0:
		return fmt.Sprintf("%+d", d)
	default:
		return fmt.Sprintf("%+d (%+.0f%%)", d, 100*float64(d)/float64(m(a)))
	}
}

func writeLogs(dir string, progs []verifiedProg) error {
	for _, p := range progs {
		d := filepath.Join(dir, p.sched)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("writing logs: %w", err)
		}
		base := filepath.Join(d, sanitize(p.prog))
		if err := os.WriteFile(base+".log", []byte(p.log), 0o644); err != nil {
			return fmt.Errorf("writing logs: %w", err)
		}
		cl := p.compact
		if err := os.WriteFile(base+".compact", []byte(strings.Join(cl.Lines, "\n")+"\n"), 0o644); err != nil {
			return fmt.Errorf("writing logs: %w", err)
		}
	}
	return nil
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' || r == '(' || r == ')' {
			return '_'
		}
		return r
	}, s)
}
