package guest

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Initramfs describes the guest's root filesystem: a cpio "newc" archive
// holding /init (the static test binary) and any extra files. Directories
// are created implicitly. Entries carry uid/gid 0 and mtime 0 so the same
// content always produces the same bytes (and the same cache key).
type Initramfs struct {
	// Files maps a guest path (absolute, e.g. "/init", "/sched/scxload")
	// to a host file whose contents it gets.
	Files map[string]string
	// Data maps a guest path to literal contents (small config files).
	Data map[string][]byte
	// Symlinks maps a guest path to its target (e.g. "/bin/sh" → "busybox").
	Symlinks map[string]string
	// Gzip compresses the archive. Uncompressed boots faster under TCG
	// (measured by tools/bench/boot.sh); gzip halves the file.
	Gzip bool
}

type cpioEntry struct {
	name   string
	mode   uint32
	src    string // host file, for regular files
	data   []byte // literal data, for regular files and symlink targets
	isFile bool
}

const (
	modeDir  = 0o040755
	modeFile = 0o100755
	modeLink = 0o120777
)

func (ir *Initramfs) entries() ([]cpioEntry, error) {
	var out []cpioEntry
	dirs := map[string]bool{}
	addDirs := func(p string) {
		for d := path.Dir(p); d != "/" && d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	check := func(p string) (string, error) {
		if !path.IsAbs(p) || path.Clean(p) != p || p == "/" {
			return "", fmt.Errorf("initramfs path %q must be absolute and clean (e.g. /sched/name)", p)
		}
		return p, nil
	}
	for gp, host := range ir.Files {
		p, err := check(gp)
		if err != nil {
			return nil, err
		}
		st, err := os.Stat(host)
		if err != nil {
			return nil, fmt.Errorf("initramfs file %s: %w", gp, err)
		}
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("initramfs file %s: %s is not a regular file", gp, host)
		}
		addDirs(p)
		out = append(out, cpioEntry{name: p, mode: modeFile, src: host, isFile: true})
	}
	for gp, data := range ir.Data {
		p, err := check(gp)
		if err != nil {
			return nil, err
		}
		addDirs(p)
		out = append(out, cpioEntry{name: p, mode: modeFile, data: data, isFile: true})
	}
	for gp, target := range ir.Symlinks {
		p, err := check(gp)
		if err != nil {
			return nil, err
		}
		addDirs(p)
		out = append(out, cpioEntry{name: p, mode: modeLink, data: []byte(target)})
	}
	for d := range dirs {
		out = append(out, cpioEntry{name: d, mode: modeDir})
	}
	// Parents sort before children, and the order is stable for hashing.
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	for i := 1; i < len(out); i++ {
		if out[i].name == out[i-1].name {
			return nil, fmt.Errorf("initramfs path %s given twice", out[i].name)
		}
	}
	return out, nil
}

// Key is a content hash of the archive-to-be: the same inputs give the
// same key, so a built archive can be reused.
func (ir *Initramfs) Key() (string, error) {
	ents, err := ir.entries()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "ktstr-initramfs-v1 gzip=%v\n", ir.Gzip)
	for _, e := range ents {
		fmt.Fprintf(h, "%s %o %d\n", e.name, e.mode, len(e.data))
		h.Write(e.data)
		if e.src != "" {
			f, err := os.Open(e.src)
			if err != nil {
				return "", fmt.Errorf("hashing %s: %w", e.src, err)
			}
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return "", fmt.Errorf("hashing %s: %w", e.src, err)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:24], nil
}

// WriteTo writes the archive to w.
func (ir *Initramfs) WriteTo(w io.Writer) (int64, error) {
	ents, err := ir.entries()
	if err != nil {
		return 0, err
	}
	cw := &countWriter{w: w}
	var bw *bufio.Writer
	var gz *gzip.Writer
	if ir.Gzip {
		gz, _ = gzip.NewWriterLevel(cw, gzip.BestSpeed)
		bw = bufio.NewWriterSize(gz, 1<<20)
	} else {
		bw = bufio.NewWriterSize(cw, 1<<20)
	}
	ino := uint32(1)
	for _, e := range ents {
		if err := writeEntry(bw, ino, e); err != nil {
			return cw.n, err
		}
		ino++
	}
	if err := writeHeader(bw, 0, "TRAILER!!!", 0, 0, 1); err != nil {
		return cw.n, err
	}
	if err := bw.Flush(); err != nil {
		return cw.n, err
	}
	if gz != nil {
		if err := gz.Close(); err != nil {
			return cw.n, err
		}
	}
	return cw.n, nil
}

// Build writes the archive to dir/initramfs-<key>.cpio[.gz] unless it is
// already there, and returns its path. The file appears atomically.
func (ir *Initramfs) Build(dir string) (string, error) {
	key, err := ir.Key()
	if err != nil {
		return "", err
	}
	name := "initramfs-" + key + ".cpio"
	if ir.Gzip {
		name += ".gz"
	}
	dst := filepath.Join(dir, name)
	if _, err := os.Stat(dst); err == nil {
		// Mark it fresh so a concurrent pruner keeps it.
		now := time.Now()
		_ = os.Chtimes(dst, now, now)
		return dst, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating initramfs dir: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-"+name+"-*")
	if err != nil {
		return "", fmt.Errorf("creating initramfs: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := ir.WriteTo(tmp); err != nil {
		tmp.Close()
		return "", fmt.Errorf("writing initramfs: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("writing initramfs: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", fmt.Errorf("installing initramfs: %w", err)
	}
	return dst, nil
}

func writeEntry(w *bufio.Writer, ino uint32, e cpioEntry) error {
	name := strings.TrimPrefix(e.name, "/")
	switch {
	case e.src != "":
		f, err := os.Open(e.src)
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		if err := writeHeader(w, ino, name, e.mode, st.Size(), 1); err != nil {
			return err
		}
		n, err := io.Copy(w, f)
		if err != nil {
			return fmt.Errorf("copying %s: %w", e.src, err)
		}
		if n != st.Size() {
			return fmt.Errorf("copying %s: size changed while reading", e.src)
		}
		return pad(w, n)
	case e.mode == modeDir:
		return writeHeader(w, ino, name, e.mode, 0, 2)
	default:
		if err := writeHeader(w, ino, name, e.mode, int64(len(e.data)), 1); err != nil {
			return err
		}
		if _, err := w.Write(e.data); err != nil {
			return err
		}
		return pad(w, int64(len(e.data)))
	}
}

// writeHeader writes a newc header (110 bytes of ASCII hex fields) plus the
// NUL-terminated name, padded to 4 bytes.
func writeHeader(w *bufio.Writer, ino uint32, name string, mode uint32, size int64, nlink uint32) error {
	if size > 0xffffffff {
		return fmt.Errorf("initramfs entry %s: %d bytes exceeds cpio's 4 GiB limit", name, size)
	}
	_, err := fmt.Fprintf(w, "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		ino, mode, 0, 0, nlink, 0, uint32(size), 0, 0, 0, 0, len(name)+1, 0)
	if err != nil {
		return err
	}
	if _, err := w.WriteString(name + "\x00"); err != nil {
		return err
	}
	return pad(w, int64(110+len(name)+1))
}

func pad(w *bufio.Writer, n int64) error {
	if r := n % 4; r != 0 {
		_, err := w.Write(make([]byte, 4-r))
		return err
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
