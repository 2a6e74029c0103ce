// Package export packages a registered ktstr test as a self-extracting
// `.run` bash script that reproduces it on bare metal, without a VM.
//
// The test binary knows its tests (`<testbin> ktstr manifest NAME`); this
// package, run by `ktstr export` and `bazel run //tools:export`, checks
// that the test can run outside the harness, packs the test binary, the
// scheduler's files and the include files into a gzipped tar, and writes a
// bash preamble that checks the host, extracts the tar, attaches the
// scheduler and runs `ktstr run --test NAME` from the extracted binary.
package export

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"

	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/guest"
)

// Options select what to export and where.
type Options struct {
	// TestBinary is a test binary whose TestMain calls ktstr.Main.
	TestBinary string
	// Test is the registered test's exact name.
	Test string
	// Output is the .run path; empty means <Test>.run in Dir.
	Output string
	// Dir is where a relative Output and relative include paths are
	// resolved, and where the test binary runs; empty means the current
	// directory.
	Dir string
	// SourceDir is the checkout whose commit is stamped into the script;
	// empty means Dir.
	SourceDir string
	Log       *zap.Logger
}

// Result describes a written .run file.
type Result struct {
	Path         string
	ArchiveBytes int
	Entries      []Entry
	Includes     int
	Git          string
}

// Export writes the .run file for one test.
func Export(ctx context.Context, o Options) (*Result, error) {
	log := o.Log
	if log == nil {
		log = zap.NewNop()
	}
	m, err := FetchManifest(ctx, o.TestBinary, o.Test, o.Dir)
	if err != nil {
		return nil, err
	}
	if err := CheckExportable(m); err != nil {
		return nil, err
	}
	includes, err := guest.ResolveIncludes(m.Includes, o.Dir)
	if err != nil {
		return nil, err
	}
	entries, err := Layout(m, includes)
	if err != nil {
		return nil, err
	}
	src := firstNonEmpty(o.SourceDir, o.Dir)
	if src == "" {
		src = "."
	}
	git := Provenance(src)
	preamble, err := Preamble(SpecFromManifest(m, git))
	if err != nil {
		return nil, fmt.Errorf("test %s: %w", m.Test, err)
	}
	archive, err := BuildArchive(entries)
	if err != nil {
		return nil, fmt.Errorf("building the embedded archive: %w", err)
	}
	out := o.Output
	if out == "" {
		out = m.Test + ".run"
	}
	if !filepath.IsAbs(out) && o.Dir != "" {
		out = filepath.Join(o.Dir, out)
	}
	if err := WriteRunfile(out, preamble, archive); err != nil {
		return nil, err
	}
	log.Info("wrote runfile", zap.String("path", out), zap.Int("archive_bytes", len(archive)), zap.String("git", git))
	return &Result{Path: out, ArchiveBytes: len(archive), Entries: entries, Includes: len(includes), Git: git}, nil
}

// FetchManifest asks the test binary to describe one of its tests.
func FetchManifest(ctx context.Context, testBinary, test, dir string) (*ktstr.ExportManifest, error) {
	out, err := runTool(ctx, testBinary, dir, "manifest", test)
	if err != nil {
		return nil, err
	}
	var m ktstr.ExportManifest
	if err := json.Unmarshal(out, &m); err != nil {
		return nil, fmt.Errorf("reading the manifest from %s: %w (is it a ktstr test binary from this checkout?)", testBinary, err)
	}
	return &m, nil
}

// List returns the names of the test binary's exportable tests.
func List(ctx context.Context, testBinary, dir string) ([]string, error) {
	out, err := runTool(ctx, testBinary, dir, "list")
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(out)), nil
}

// runTool runs `<testbin> ktstr ARGS...` and returns its stdout; its
// stderr becomes the error.
func runTool(ctx context.Context, testBinary, dir string, args ...string) ([]byte, error) {
	if testBinary == "" {
		return nil, fmt.Errorf("no test binary given")
	}
	cmd := exec.CommandContext(ctx, testBinary, append([]string{"ktstr"}, args...)...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		msg = strings.TrimPrefix(msg, "ktstr: ")
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("%s ktstr %s: %s", filepath.Base(testBinary), strings.Join(args, " "), msg)
	}
	return stdout.Bytes(), nil
}

// Summary is the one line a command prints after writing a .run file.
func (r *Result) Summary() string {
	return fmt.Sprintf("wrote %s (%d bytes archive, %d include files, git %s)", r.Path, r.ArchiveBytes, r.Includes, r.Git)
}
