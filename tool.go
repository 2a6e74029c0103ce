package ktstr

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/verdict"
	"go.uber.org/zap"
)

// dispatchTool runs the in-binary tools: `<testbin> ktstr list|manifest|run`.
// args are what follows "ktstr". It returns the process exit code.
func dispatchTool(args []string) int {
	return runTool(args, os.Stdout, os.Stderr)
}

func runTool(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		toolUsage(stderr)
		return 2
	}
	switch args[0] {
	case "list":
		return toolList(args[1:], stdout, stderr)
	case "manifest":
		return toolManifest(args[1:], stdout, stderr)
	case "run":
		return toolRun(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "ktstr: unknown in-binary command %q\n", args[0])
	toolUsage(stderr)
	return 2
}

func toolUsage(w io.Writer) {
	fmt.Fprint(w, `usage: <test binary> ktstr <command> [flags]

commands:
  list                 print the names of the exportable registered tests
  manifest NAME        print what an exporter needs to package NAME (JSON)
  run --test NAME      run one registered test on this host, without a VM
      [--duration D] [--watchdog-timeout D] [--cgroup DIR]

Export a test with 'ktstr export NAME' or 'bazel run //tools:export -- NAME'.
`)
}

// toolList prints the exportable tests, one per line; with --all, every
// registered test with the reason the others cannot be exported.
func toolList(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ktstr list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	all := fs.Bool("all", false, "list unexportable tests too, with the reason")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	for _, t := range Registered() {
		why := exportFacts(t).Exportable()
		switch {
		case why == "":
			fmt.Fprintln(stdout, t.Name)
		case *all:
			fmt.Fprintf(stdout, "%s\t(not exportable: %s)\n", t.Name, why)
		}
	}
	return 0
}

func toolManifest(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, "usage: <test binary> ktstr manifest NAME")
		return 2
	}
	t, ok := Lookup(args[0])
	if !ok {
		fmt.Fprintf(stderr, "ktstr: %v\n", unknownTestError(args[0]))
		return 1
	}
	m, err := exportManifest(t)
	if err != nil {
		fmt.Fprintf(stderr, "ktstr: %v\n", err)
		return 1
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		fmt.Fprintf(stderr, "ktstr: writing manifest: %v\n", err)
		return 1
	}
	return 0
}

func toolRun(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ktstr run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("test", "", "registered test to run (required)")
	dur := fs.String("duration", "", "scenario duration: seconds (30) or a Go duration (1m30s); default: the test's")
	wd := fs.String("watchdog-timeout", "", "sched_ext watchdog timeout: seconds or a Go duration; default: the test's")
	cg := fs.String("cgroup", "", "cgroup2 directory to create for the test (default /sys/fs/cgroup/ktstr-<pid>)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *name == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: <test binary> ktstr run --test NAME [--duration D] [--watchdog-timeout D] [--cgroup DIR]")
		return 2
	}
	t, ok := Lookup(*name)
	if !ok {
		fmt.Fprintf(stderr, "ktstr: %v\n", unknownTestError(*name))
		return 1
	}
	r := &bareMetalRun{test: t, duration: t.Duration, watchdog: t.EffectiveWatchdog(), cgroup: *cg, out: stdout, log: zap.NewNop()}
	if r.duration == 0 {
		r.duration = DefaultDuration
	}
	var err error
	if *dur != "" {
		if r.duration, err = parseSeconds("--duration", *dur); err != nil {
			fmt.Fprintf(stderr, "ktstr: %v\n", err)
			return 2
		}
	}
	if *wd != "" {
		if r.watchdog, err = parseSeconds("--watchdog-timeout", *wd); err != nil {
			fmt.Fprintf(stderr, "ktstr: %v\n", err)
			return 2
		}
	}
	if r.cgroup == "" {
		r.cgroup = filepath.Join(cgroupMount, fmt.Sprintf("ktstr-%d", os.Getpid()))
	}
	v, reasons, err := r.run()
	if err != nil {
		fmt.Fprintf(stderr, "ktstr: %s: %v\n", t.Name, err)
		return 1
	}
	switch v {
	case verdict.Pass:
		fmt.Fprintf(stdout, "ktstr: %s passed\n", t.Name)
		return 0
	case verdict.Skip:
		fmt.Fprintf(stdout, "ktstr: %s skipped: %s\n", t.Name, strings.Join(reasons, "; "))
		return 0
	}
	fmt.Fprintf(stderr, "ktstr: %s: %s:\n  %s\n", t.Name, v, strings.Join(reasons, "\n  "))
	return 1
}

// parseSeconds accepts a whole number of seconds (what the .run script's
// --duration SECS documents) or a Go duration string.
func parseSeconds(flagName, s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 {
			return 0, fmt.Errorf("%s %s: must be positive", flagName, s)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s %q: want a positive number of seconds (30) or a duration (1m30s)", flagName, s)
	}
	return d, nil
}
