package results

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// maxClaimTries bounds the suffixes Claim tries for one name.
const maxClaimTries = 1000

// Claim reserves a new, empty directory for one run under root: root/id,
// or root/id-2, root/id-3, ... when that name is taken. Names carry the
// start time to the second, so two runs of one test that start together
// (gauntlet variants of a test, go test -count) would otherwise replace
// each other's results. The directory is made with mkdir(2), which fails
// when the name exists, so concurrent runs, even in other processes,
// never get the same one. Write then fills it; a caller that ends up
// writing nothing removes it with os.Remove.
func Claim(root, id string) (string, error) {
	if id == "" || id != filepath.Base(id) || id == "." || id == ".." {
		return "", fmt.Errorf("results: run name %q is not a directory name (NewID makes one)", id)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("results: creating %s: %w", root, err)
	}
	for i := 1; i <= maxClaimTries; i++ {
		name := id
		if i > 1 {
			name += "-" + strconv.Itoa(i)
		}
		dir := filepath.Join(root, name)
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("results: %w", err)
		}
	}
	return "", fmt.Errorf("results: %s and %d more names like it are taken in %s: remove old runs (ktstr stats prune --root %s --keep N; ktstr stats list shows them)", id, maxClaimTries-1, root, root)
}
