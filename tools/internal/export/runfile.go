package export

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
)

// Base64LineWidth is the width of the archive's base64 lines, which keeps
// the file intact through line-oriented transports (mail, editors).
const Base64LineWidth = 76

// WriteRunfile writes preamble, the archive marker line and the archive
// as base64 lines to path, mode 0755. It writes a temporary file next to
// path, fsyncs it and renames it over path, so a failed export never
// leaves a truncated script that looks runnable.
func WriteRunfile(path, preamble string, archive []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	enc := base64.StdEncoding.EncodeToString(archive)
	buf := make([]byte, 0, len(preamble)+len(ArchiveMarker)+1+len(enc)+len(enc)/Base64LineWidth+1)
	buf = append(buf, preamble...)
	buf = append(buf, ArchiveMarker+"\n"...)
	for len(enc) > 0 {
		n := min(Base64LineWidth, len(enc))
		buf = append(buf, enc[:n]...)
		buf = append(buf, '\n')
		enc = enc[n:]
	}
	if _, err := f.Write(buf); err != nil {
		return fmt.Errorf("writing %s: %w", f.Name(), err)
	}
	// CreateTemp makes 0600; the script is meant to be run directly.
	if err := f.Chmod(0o755); err != nil {
		return fmt.Errorf("chmod 755 %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", f.Name(), err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("renaming into place at %s: %w", path, err)
	}
	// Persist the rename too; best effort, as some file systems refuse
	// to fsync directories.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
