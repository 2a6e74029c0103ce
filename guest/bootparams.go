package guest

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/topology"
)

// Mode is what the guest's work process does.
type Mode string

// The modes.
const (
	ModeTest   Mode = "test"   // run a registered test by name
	ModeGoTest Mode = "gotest" // run one test function of a go test binary
	ModeExec   Mode = "exec"   // run one shell command, streaming its output
	ModeShell  Mode = "shell"  // an interactive shell on the console
)

// BootParams is what the host tells the guest on the kernel command line,
// as ktstr.* keys. The host settles every value (test, overrides,
// defaults) before boot; the guest takes them as they are, so a test
// runs with the shape, duration and flags the host reported.
type BootParams struct {
	Mode Mode
	// Test is the registered test name (ModeTest) or the go test name
	// (ModeGoTest, e.g. "TestX/sub").
	Test     string
	Topology topology.Topology
	Duration time.Duration
	// Flags are the scheduler flags to enable.
	Flags []string
	// Watchdog is the sched_ext watchdog timeout; zero keeps the kernel's.
	Watchdog time.Duration
	// Exec is the shell command of ModeExec.
	Exec string
	// Rows and Cols are the terminal size of ModeShell (zero: unknown).
	Rows, Cols int
}

// The command-line keys.
const (
	keyMode     = "ktstr.mode"
	keyTest     = "ktstr.test"
	keyTopology = "ktstr.topology"
	keyDuration = "ktstr.duration"
	keyFlags    = "ktstr.flags"
	keyWatchdog = "ktstr.watchdog"
	keyExec     = "ktstr.exec"
	keyRows     = "ktstr.rows"
	keyCols     = "ktstr.cols"
)

// Cmdline encodes p as space-separated ktstr.* keys, sorted, leaving out
// unset values. The kernel command line has no quoting, so the exec
// command travels encoded.
func (p BootParams) Cmdline() string {
	keys := map[string]string{keyMode: string(p.Mode)}
	set := func(k, v string) {
		if v != "" {
			keys[k] = v
		}
	}
	set(keyTest, p.Test)
	if p.Topology != (topology.Topology{}) {
		set(keyTopology, p.Topology.String())
	}
	if p.Duration > 0 {
		set(keyDuration, p.Duration.String())
	}
	set(keyFlags, strings.Join(p.Flags, ","))
	if p.Watchdog > 0 {
		set(keyWatchdog, p.Watchdog.String())
	}
	if p.Exec != "" {
		set(keyExec, EncodeExec(p.Exec))
	}
	if p.Rows > 0 && p.Cols > 0 {
		set(keyRows, strconv.Itoa(p.Rows))
		set(keyCols, strconv.Itoa(p.Cols))
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for i, k := range names {
		names[i] = k + "=" + keys[k]
	}
	return strings.Join(names, " ")
}

// ParseBootParams reads the ktstr.* keys of a kernel command line; other
// words are ignored. A malformed value is an error: a guest that ran with
// a guessed shape or duration would pass for the wrong reason.
func ParseBootParams(cmdline string) (BootParams, error) {
	var p BootParams
	for _, f := range strings.Fields(cmdline) {
		k, v, ok := strings.Cut(f, "=")
		if !ok || !strings.HasPrefix(k, "ktstr.") {
			continue
		}
		if err := p.set(k, v); err != nil {
			return BootParams{}, fmt.Errorf("kernel command line %s=%s: %w", k, v, err)
		}
	}
	if p.Mode == "" {
		return BootParams{}, fmt.Errorf("kernel command line has no %s: this kernel was not booted by ktstr", keyMode)
	}
	return p, nil
}

func (p *BootParams) set(k, v string) error {
	var err error
	switch k {
	case keyMode:
		p.Mode = Mode(v)
	case keyTest:
		p.Test = v
	case keyTopology:
		p.Topology, err = topology.Parse(v)
	case keyDuration:
		p.Duration, err = time.ParseDuration(v)
	case keyFlags:
		p.Flags = strings.Split(v, ",")
	case keyWatchdog:
		p.Watchdog, err = time.ParseDuration(v)
	case keyExec:
		p.Exec, err = DecodeExec(v)
	case keyRows:
		p.Rows, err = strconv.Atoi(v)
	case keyCols:
		p.Cols, err = strconv.Atoi(v)
	}
	return err
}

// ReadBootParams parses this guest's /proc/cmdline.
func ReadBootParams() (BootParams, error) {
	b, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		return BootParams{}, fmt.Errorf("reading the kernel command line: %w", err)
	}
	return ParseBootParams(string(b))
}
