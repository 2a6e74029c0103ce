package ktstr

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// IntrospectionFiles renders what a run saw of its scheduler as files
// for its results directory, by name: snapshots, probe results, the
// timeline and the auto-repro, each as JSON and as text. Parts the run
// does not have are left out.
func (r *Result) IntrospectionFiles() (map[string][]byte, error) {
	out := map[string][]byte{}
	add := func(name string, v any, text func(*strings.Builder)) error {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("encoding %s: %w", name, err)
		}
		out[name+".json"] = append(b, '\n')
		var sb strings.Builder
		text(&sb)
		out[name+".txt"] = []byte(sb.String())
		return nil
	}
	if r.Monitor != nil && len(r.Monitor.Snapshots) > 0 {
		if err := add("snapshots", r.Monitor.Snapshots, func(sb *strings.Builder) {
			for i := range r.Monitor.Snapshots {
				r.Monitor.Snapshots[i].Format(sb)
				sb.WriteByte('\n')
			}
		}); err != nil {
			return nil, err
		}
	}
	if r.Probes != nil {
		if err := add("probes", r.Probes, func(sb *strings.Builder) { r.Probes.Format(sb, reproCalls) }); err != nil {
			return nil, err
		}
	}
	if r.Timeline != nil {
		if err := add("timeline", r.Timeline, func(sb *strings.Builder) {
			// The whole run, then the view around the failure.
			r.Timeline.FormatAround(sb, time.Duration(1<<62), time.Duration(1<<62))
			if r.Timeline.Failed {
				sb.WriteByte('\n')
				sb.WriteString(r.Timeline.String())
			}
		}); err != nil {
			return nil, err
		}
	}
	if r.Repro != nil {
		if err := add("repro", r.Repro, func(sb *strings.Builder) { r.Repro.Format(sb) }); err != nil {
			return nil, err
		}
	}
	return out, nil
}
