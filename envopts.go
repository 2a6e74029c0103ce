package ktstr

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/topology"
)

// Environment a launcher (the Bazel ktstr_test rule) uses to turn one test
// into a topology × flags variant without recompiling it.
const (
	EnvTopology   = "KTSTR_TOPOLOGY"    // e.g. 1n2l2c1t or 1,2,2,1
	EnvFlags      = "KTSTR_FLAGS"       // scheduler flags, comma-separated
	EnvDuration   = "KTSTR_DURATION"    // e.g. 5s
	EnvSchedFiles = "KTSTR_SCHED_FILES" // prebuilt scheduler files, space-separated
)

// applyEnv overrides opts from the launcher environment. Bad values are
// errors, not silently ignored: a variant that runs the wrong shape
// would pass for the wrong reason.
func applyEnv(opts *Opts) (schedFiles []string, err error) {
	if v := strings.TrimSpace(os.Getenv(EnvTopology)); v != "" {
		t, err := topology.Parse(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvTopology, err)
		}
		opts.Topology = t
	}
	if v := strings.TrimSpace(os.Getenv(EnvDuration)); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%s=%q: want a positive duration such as 5s", EnvDuration, v)
		}
		opts.Duration = d
	}
	if v, ok := os.LookupEnv(EnvFlags); ok {
		opts.Flags = nil
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				opts.Flags = append(opts.Flags, f)
			}
		}
		if opts.Scheduler != nil {
			if err := opts.Scheduler.Validate(opts.Flags); err != nil {
				return nil, fmt.Errorf("%s: %w", EnvFlags, err)
			}
		}
	}
	if v := strings.TrimSpace(os.Getenv(EnvSchedFiles)); v != "" {
		schedFiles = strings.Fields(v)
	}
	return schedFiles, nil
}
