package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr/monitor"
)

// Write lays out r's results directory at dir, all at once: the files
// are written into a temporary directory beside dir which is then
// renamed to dir, so a reader never sees half a run. An existing empty
// directory or an earlier results directory at dir is replaced; anything
// else there is an error.
func Write(dir string, r *Run) (err error) {
	if r.ID == "" {
		r.ID = NewID(r.Test, r.Started)
	}
	dir = filepath.Clean(dir)
	if err := checkTarget(dir); err != nil {
		return err
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("results: creating %s: %w", parent, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(tmp)
		}
	}()
	if err := writeFiles(tmp, r); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	return replaceDir(tmp, dir)
}

// writeFiles writes every file of a run into dir.
func writeFiles(dir string, r *Run) error {
	v := newView(r)
	extra, err := extraNames(r)
	if err != nil {
		return err
	}
	res := newResult(r, v, extra)
	metrics := &Metrics{Schema: metricsSchema, ID: r.ID, Dimensions: res.Dimensions, Verdict: r.Verdict, Metrics: computeMetrics(v)}
	mon := r.Monitor
	if mon == nil {
		mon = &monitor.Report{Err: "the host monitor was off (the kernel has no vmlinux to read the guest by)"}
	}
	trace, err := traceJSON(v)
	if err != nil {
		return err
	}
	var html bytes.Buffer
	if err := writeReport(&html, v, res, metrics); err != nil {
		return err
	}
	files := []runFile{
		{FileResult, func() ([]byte, error) { return indentJSON(res) }},
		{FileConsole, func() ([]byte, error) { return consoleBytes(r), nil }},
		{FileRecords, func() ([]byte, error) { return recordLines(r.Records) }},
		{FileMonitor, func() ([]byte, error) { return indentJSON(mon) }},
		{FileWorkers, func() ([]byte, error) { return indentJSON(v.rawWorkers()) }},
		{FileMetrics, func() ([]byte, error) { return indentJSON(metrics) }},
		{FileTrace, func() ([]byte, error) { return trace, nil }},
		{FileReport, func() ([]byte, error) { return html.Bytes(), nil }},
	}
	for _, n := range extra {
		files = append(files, runFile{n, func() ([]byte, error) { return r.Extra[n], nil }})
	}
	for _, f := range files {
		b, err := f.data()
		if err != nil {
			return fmt.Errorf("results: %s: %w", f.name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.name), b, 0o644); err != nil {
			return fmt.Errorf("results: %w", err)
		}
	}
	return nil
}

// runFile is one file of a run's directory and how to make it.
type runFile struct {
	name string
	data func() ([]byte, error)
}

// checkTarget refuses to replace a directory that is not a run's.
func checkTarget(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("results: %w", err)
	case len(entries) == 0 || isResultsDir(dir):
		return nil
	}
	return fmt.Errorf("results: %s exists and is not a ktstr results directory (no %s or %s): choose another output directory", dir, FileResult, FileIndex)
}

// isResultsDir reports whether dir holds a run or a multi-run index.
func isResultsDir(dir string) bool {
	for _, f := range []string{FileResult, FileIndex} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}

// replaceDir renames tmp to dir. An earlier results directory at dir is
// first moved aside, and removed once the new one is in place.
func replaceDir(tmp, dir string) error {
	// rename(2) itself, not os.Rename, which refuses any existing
	// directory: the system call replaces an empty one atomically.
	err := unix.Rename(tmp, dir)
	if err == nil {
		return nil
	}
	if !isResultsDir(dir) {
		return fmt.Errorf("results: %w", err)
	}
	old, aside, err := moveAside(dir, "old")
	if err != nil {
		return fmt.Errorf("results: moving the earlier run aside: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		_ = os.Rename(aside, dir)
		_ = os.Remove(old)
		return fmt.Errorf("results: %w", err)
	}
	return os.RemoveAll(old)
}

// moveAside renames dir into a new hidden directory beside it
// (".<name>.<why>-*", which stats list skips), so readers see it whole or
// not at all until the caller removes hidden (or renames aside back).
func moveAside(dir, why string) (hidden, aside string, err error) {
	hidden, err = os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+"."+why+"-")
	if err != nil {
		return "", "", err
	}
	aside = filepath.Join(hidden, "run")
	if err := os.Rename(dir, aside); err != nil {
		_ = os.Remove(hidden)
		return "", "", err
	}
	return hidden, aside, nil
}

func indentJSON(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// recordLines is records.jsonl: one record per line.
func recordLines(recs []Record) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for _, rec := range recs {
		if err := enc.Encode(rec); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

// consoleBytes is console.log, with a note when the capture was capped.
func consoleBytes(r *Run) []byte {
	if r.ConsoleDropped == 0 {
		return r.Console
	}
	return append(append([]byte(nil), r.Console...),
		fmt.Sprintf("\n[ktstr: %d more console bytes were not kept]\n", r.ConsoleDropped)...)
}
