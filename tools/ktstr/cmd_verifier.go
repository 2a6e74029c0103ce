package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/scheds"
	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/verdict"
)

func init() {
	register("verifier", "load every BPF program of the schedulers in a VM and report verifier statistics and logs", cmdVerifier)
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

func cmdVerifier(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("verifier", flag.ContinueOnError)
	var kernels, topos stringList
	fs.Var(&kernels, "kernel", "kernel to verify on (any KTSTR_KERNEL form); twice or more: compare kernels side by side")
	fs.Var(&topos, "topology", "VM topology (default 1n1l2c1t); twice or more: compare topologies side by side")
	backend := fs.String("backend", "auto", "VMM backend: auto, kvm, qemu or qemu-tcg")
	showLog := fs.Bool("log", false, "print each program's compact verifier log (register states dropped, repeated cycles collapsed to [×N])")
	outDir := fs.String("o", "", "write raw and compact logs to DIR/<config>/<scheduler>/<program>.{log,compact}")
	level := fs.Int("level", 2, "verifier log level: 2 logs every instruction; 1 keeps only a rejected path (faster, smaller)")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: ktstr verifier [-kernel K]... [-topology T]... [-log] [-o DIR] [SCHEDULER|PATH...]")
		fmt.Fprintf(os.Stderr, "schedulers: %s (default: all)\n", strings.Join(verifyTargetNames(), ", "))
		fmt.Fprintln(os.Stderr, "PATH: a BPF object (.bpf.o), or a scheduler binary whose embedded BPF objects are verified")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *level != 1 && *level != 2 {
		fmt.Fprintf(os.Stderr, "ktstr verifier: -level %d: want 1 or 2\n", *level)
		return 2
	}
	targets, err := selectTargets(fs.Args())
	if err != nil {
		fmt.Fprintf(os.Stderr, "ktstr verifier: %v\n", err)
		return 2
	}
	configs, err := verifyConfigs(kernels, topos)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ktstr verifier: %v\n", err)
		return 2
	}
	needTree := slices.ContainsFunc(targets, func(t scheds.VerifyTarget) bool { return strings.HasPrefix(t.Object, "scx_") })
	built, err := scheds.Build(ctx, scheds.BuildConfig{KernelTree: needTree, Log: newLogger()})
	if err != nil {
		fmt.Fprintf(os.Stderr, "ktstr verifier: building schedulers: %v\n", err)
		return 1
	}
	results := make([]map[string]verifiedProg, len(configs))
	var order []string // sched/prog keys in first-seen order
	failed := false
	for i, c := range configs {
		fmt.Fprintf(os.Stderr, "ktstr verifier: verifying %d scheduler(s) on %s ...\n", len(targets), c.label)
		t0 := time.Now()
		progs, err := verifyInVM(ctx, c, targets, built, *backend, *level)
		if err != nil {
			fmt.Fprintf(os.Stderr, "ktstr verifier: %s: %v\n", c.label, err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "ktstr verifier: %s done in %v\n", c.label, time.Since(t0).Round(time.Second))
		results[i] = map[string]verifiedProg{}
		for _, p := range progs {
			k := p.sched + "/" + p.prog
			if !slices.Contains(order, k) {
				order = append(order, k)
			}
			results[i][k] = p
			failed = failed || (!p.loaded && p.gap == "")
		}
		if *outDir != "" {
			if err := writeLogs(filepath.Join(*outDir, sanitize(c.label)), progs); err != nil {
				fmt.Fprintf(os.Stderr, "ktstr verifier: %v\n", err)
				return 1
			}
		}
		if ctx.Err() != nil {
			return 1
		}
	}
	if len(configs) == 1 {
		printVerifyTable(os.Stdout, configs[0].label, order, results[0])
	} else {
		printVerifyComparison(os.Stdout, configs, order, results)
	}
	if *showLog {
		for i, c := range configs {
			for _, k := range order {
				p, ok := results[i][k]
				if !ok {
					continue
				}
				cl := p.compact
				fmt.Printf("\n=== %s  %s  (%d log lines, %d without register states, %d compact)\n", k, c.label, cl.RawLines, cl.Kept, len(cl.Lines))
				for _, l := range cl.Lines {
					fmt.Println(l)
				}
			}
		}
	}
	if failed {
		return 1
	}
	return 0
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
				return nil, fmt.Errorf("-topology %q: %w", ts, err)
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
	files = map[string]string{guest.SchedPath("scxload"): built.Loader}
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

func verifyInVM(ctx context.Context, c verifyConfig, targets []scheds.VerifyTarget, built *scheds.Built, backend string, level int) ([]verifiedProg, error) {
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
	}, ktstr.RunOptions{Kernel: c.kernel, Backend: backend, Log: newLogger()})
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

func printVerifyTable(w io.Writer, label string, order []string, res map[string]verifiedProg) {
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
func printVerifyComparison(w io.Writer, configs []verifyConfig, order []string, results []map[string]verifiedProg) {
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
