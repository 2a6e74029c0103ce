package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr"
)

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	return nil
}

// runReport is one run's outcome as `run --json` and `matrix --json`
// print it.
type runReport struct {
	Test string `json:"test"`
	// Verdict is pass, fail, skip, inconclusive, or error when the run
	// could not happen (then Error says why).
	Verdict  string   `json:"verdict"`
	Backend  string   `json:"backend,omitempty"`
	Topology string   `json:"topology,omitempty"`
	Kernel   string   `json:"kernel,omitempty"`
	Seconds  float64  `json:"seconds"`
	Reasons  []string `json:"reasons"`
	// VMExit is how the VM ended (poweroff, timeout, panic, ...).
	VMExit  string `json:"vm_exit,omitempty"`
	Monitor string `json:"monitor,omitempty"`
	// Dir is the run's results directory, if one was written.
	Dir   string `json:"dir,omitempty"`
	Error string `json:"error,omitempty"`
}

func newRunReport(test string, res *ktstr.Result, err error, took time.Duration) runReport {
	r := runReport{Test: test, Seconds: took.Round(time.Millisecond).Seconds(), Reasons: []string{}}
	if err != nil {
		r.Verdict, r.Error = "error", err.Error()
		return r
	}
	r.Verdict, r.Backend, r.Topology, r.Kernel = res.Verdict.String(), res.Backend, res.Topology.String(), res.Kernel
	r.Reasons = append(r.Reasons, res.Reasons...)
	r.VMExit, r.Dir = res.Exit.Reason.String(), res.Dir
	if m := res.Monitor; m != nil && len(m.Samples) > 0 {
		r.Monitor = m.Summarize().String()
	}
	return r
}

// junitOutcomeOf is how a run's outcome reads in JUnit.
func junitOutcomeOf(r runReport, code int) junitOutcome {
	switch {
	case code == exitPass:
		return junitPass
	case code == exitFail:
		return junitFailure
	case r.Verdict == "skip":
		return junitSkip
	}
	return junitError
}

// junitMessageOf is the one line and the detail of a run's JUnit case.
func junitMessageOf(r runReport) (string, string) {
	if r.Error != "" {
		return r.Error, r.Error
	}
	return r.Verdict + ": " + strings.Join(r.Reasons, "; "), strings.Join(r.Reasons, "\n")
}
