package ktstr

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// IntrospectionFiles renders what a run saw of its scheduler as files
// for its results, by name: snapshots, probe results, the timeline and
// the auto-repro, each as JSON and as text. Parts the run does not have
// are left out.
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

// WriteIntrospection writes IntrospectionFiles into dir (created if
// needed), each file through a temporary one renamed into place.
func WriteIntrospection(dir string, r *Result) error {
	files, err := r.IntrospectionFiles()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("results directory: %w", err)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := writeFileAtomic(filepath.Join(dir, n), files[n]); err != nil {
			return err
		}
	}
	return nil
}

func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(f.Name(), path)
	}
	if werr != nil {
		os.Remove(f.Name())
		return fmt.Errorf("writing %s: %w", path, werr)
	}
	return nil
}
