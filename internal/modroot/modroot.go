// Package modroot finds the Go module a directory belongs to, for the
// tools that build from source (the scheduler loader, an exported test
// binary).
package modroot

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/mod/modfile"
)

// ErrNotFound is returned when no matching go.mod encloses the directory.
var ErrNotFound = errors.New("no enclosing Go module")

// Find walks up from dir (the working directory when empty) to the
// nearest directory whose go.mod declares module path, or any module when
// path is empty, and returns that directory.
func Find(dir, path string) (string, error) {
	if dir == "" {
		dir = "."
	}
	start, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := start; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil {
			if path == "" || modfile.ModulePath(b) == path {
				return d, nil
			}
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	if path == "" {
		return "", fmt.Errorf("%w: no go.mod at or above %s", ErrNotFound, start)
	}
	return "", fmt.Errorf("%w: no go.mod of %s at or above %s", ErrNotFound, path, start)
}
