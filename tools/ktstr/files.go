package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
)

// writeFileAtomic writes data to path through a temp file in the same
// directory and a rename, so path is never a partial file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// exportFile places src at dst, hard-linked when on the same file system,
// else copied with src's mode. It goes through a temp name + rename so dst
// is never a partial file.
func exportFile(src, dst string) error {
	tmp := dst + ".tmp"
	os.Remove(tmp)
	if err := os.Link(src, tmp); err != nil {
		if err := copyFile(src, tmp); err != nil {
			return err
		}
		st, err := os.Stat(src)
		if err != nil {
			os.Remove(tmp)
			return err
		}
		if err := os.Chmod(tmp, st.Mode().Perm()); err != nil {
			os.Remove(tmp)
			return err
		}
	}
	err := os.Rename(tmp, dst)
	// Also after success: renaming onto a hard link of the same file
	// (a repeated export) succeeds without removing tmp.
	os.Remove(tmp)
	return err
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	return out.Close()
}

// oneLine joins s's whitespace into single spaces and cuts it at n bytes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "..."
	}
	return s
}
