package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

func init() { register("", newVersionCmd) }

// buildInfo is what `ktstr version --json` prints.
type buildInfo struct {
	Module   string `json:"module"`
	Version  string `json:"version"`
	Revision string `json:"revision,omitempty"`
	Time     string `json:"time,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go"`
}

// readBuildInfo reads the module version (set by go install pkg@version)
// and the VCS stamp (set by go build in a checkout) from the binary.
func readBuildInfo() buildInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		// Built without module information (Bazel's rules_go).
		return buildInfo{Module: "github.com/ktstr-go/ktstr", Version: "unknown", Go: runtime.Version()}
	}
	b := buildInfo{Module: bi.Main.Path, Version: bi.Main.Version, Go: bi.GoVersion}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// version is the one-line version: "v0.3.0", or "(devel) 1a2b3c4d5e6f
// 2026-12-03T09:00:00Z modified" for a build from a checkout.
func version() string {
	b := readBuildInfo()
	parts := []string{b.Version}
	if b.Revision != "" {
		parts = append(parts, b.Revision[:min(12, len(b.Revision))])
	}
	if b.Time != "" {
		parts = append(parts, b.Time)
	}
	if b.Modified {
		parts = append(parts, "modified")
	}
	return strings.Join(parts, " ") + ", " + b.Go
}

func newVersionCmd(e *env) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "version",
		Short: "Print ktstr's version, as Go's build information records it",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			if asJSON {
				return writeJSON(e.stdout, readBuildInfo())
			}
			fmt.Fprintf(e.stdout, "ktstr %s\n", version())
			return nil
		},
	}
	addJSONFlag(c, &asJSON, "the build information")
	return c
}
