package export

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/guest"
)

// Archive layout: what the .run script extracts into its temp directory.
const (
	// BinaryName is the test binary; the script runs `$DIR/ktstr ktstr run`.
	BinaryName = "ktstr"
	// SchedPrefix holds the scheduler's files at their paths below /sched/
	// in the guest, so argv paths map one to one.
	SchedPrefix = "sched/"
	// IncludePrefix holds include files flattened to their basenames, as
	// /include/ does in the guest.
	IncludePrefix = "include/"
)

// ArchiveMode is the mode of every archive entry: the extracted files are
// run directly, whatever their mode on the exporting host was.
const ArchiveMode = 0o755

// archiveTime is the fixed modification time of every entry, so the
// archive does not leak when, or on which checkout, it was built.
var archiveTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Entry is one file to pack: its path inside the archive and on this host.
type Entry struct {
	Name     string
	HostPath string
}

// Layout lists the archive entries for a test: the test binary, the
// scheduler's files and the resolved include files. Include files are
// flattened by basename, so two with the same basename are an error.
func Layout(m *ktstr.ExportManifest, includes []string) ([]Entry, error) {
	if m.Binary == "" {
		return nil, fmt.Errorf("test %s: the manifest names no test binary", m.Test)
	}
	entries := []Entry{{Name: BinaryName, HostPath: m.Binary}}
	if s := m.Scheduler; s != nil {
		guestPaths := make([]string, 0, len(s.Files))
		for gp := range s.Files {
			guestPaths = append(guestPaths, gp)
		}
		sort.Strings(guestPaths)
		for _, gp := range guestPaths {
			rel, ok := strings.CutPrefix(path.Clean(gp), guest.SchedDir)
			if !ok || rel == "" {
				return nil, fmt.Errorf("scheduler %s: file %s is outside %s; scheduler files must live under %s", s.Name, gp, guest.SchedDir, guest.SchedDir)
			}
			entries = append(entries, Entry{Name: SchedPrefix + rel, HostPath: s.Files[gp]})
		}
	}
	seen := map[string]string{}
	for _, inc := range includes {
		base := filepath.Base(inc)
		if base == "." || base == "/" || base == ".." {
			return nil, fmt.Errorf("include file %s has no basename", inc)
		}
		if prev, dup := seen[base]; dup {
			return nil, fmt.Errorf("include-file basename collision: %s and %s both flatten to '%s%s'. Rename one or use distinct paths", prev, inc, IncludePrefix, base)
		}
		seen[base] = inc
		entries = append(entries, Entry{Name: IncludePrefix + base, HostPath: inc})
	}
	return entries, nil
}

// BuildArchive packs entries into a gzipped tar. Every entry gets mode
// 0755, owner 0:0 with no user or group names and a fixed time: nothing
// about the exporting host leaks into the published file. Parent
// directories get their own entries (mode 0755) ahead of their files.
func BuildArchive(entries []Entry) ([]byte, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	dirs := map[string]bool{}
	var packed []Entry
	for _, e := range entries {
		if err := addParents(tw, dirs, e.Name); err != nil {
			return nil, err
		}
		// A file packed already (the ktstr command is also its own
		// scheduler loader, sched/scxload) becomes a hard link to it.
		if first, ok := sameFile(packed, e.HostPath); ok {
			h := header(e.Name, tar.TypeLink, 0)
			h.Linkname = first
			if err := tw.WriteHeader(h); err != nil {
				return nil, fmt.Errorf("adding %s to tar: %w", e.Name, err)
			}
			continue
		}
		if err := addFile(tw, e); err != nil {
			return nil, err
		}
		packed = append(packed, e)
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("finishing tar stream: %w", err)
	}
	if err := gz.Close(); err != nil {
		return nil, fmt.Errorf("finishing gzip stream: %w", err)
	}
	return buf.Bytes(), nil
}

// sameFile returns the archive name of the packed entry that is the file
// at p.
func sameFile(packed []Entry, p string) (string, bool) {
	st, err := os.Stat(p)
	if err != nil {
		return "", false
	}
	for _, e := range packed {
		if pst, err := os.Stat(e.HostPath); err == nil && os.SameFile(st, pst) {
			return e.Name, true
		}
	}
	return "", false
}

func addParents(tw *tar.Writer, done map[string]bool, name string) error {
	var parents []string
	for d := path.Dir(name); d != "." && d != "/"; d = path.Dir(d) {
		parents = append(parents, d)
	}
	for i := len(parents) - 1; i >= 0; i-- {
		d := parents[i]
		if done[d] {
			continue
		}
		done[d] = true
		if err := tw.WriteHeader(header(d+"/", tar.TypeDir, 0)); err != nil {
			return fmt.Errorf("adding directory %s to tar: %w", d, err)
		}
	}
	return nil
}

func addFile(tw *tar.Writer, e Entry) error {
	f, err := os.Open(e.HostPath)
	if err != nil {
		return fmt.Errorf("reading %s for the archive: %w", e.HostPath, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("reading %s for the archive: %w", e.HostPath, err)
	}
	if st.IsDir() {
		return fmt.Errorf("%s (for %s) is a directory — export packs regular files only. Recursive directory packaging is not supported; list each file individually", e.HostPath, e.Name)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s (for %s) is not a regular file (%s)", e.HostPath, e.Name, st.Mode().Type())
	}
	if err := tw.WriteHeader(header(e.Name, tar.TypeReg, st.Size())); err != nil {
		return fmt.Errorf("adding %s to tar: %w", e.Name, err)
	}
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("adding %s to tar from %s: %w", e.Name, e.HostPath, err)
	}
	return nil
}

func header(name string, typ byte, size int64) *tar.Header {
	return &tar.Header{
		Typeflag: typ,
		Name:     name,
		Size:     size,
		Mode:     ArchiveMode,
		ModTime:  archiveTime,
		// Uid/Gid 0 and empty Uname/Gname: no host account names.
	}
}
