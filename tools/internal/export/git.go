package export

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Provenance returns the abbreviated (7 hex digits) commit checked out in
// the git work tree containing dir, or "unknown". It reads .git itself
// (HEAD, loose refs, packed-refs, worktree links), so exporting never
// needs a git binary on the host.
func Provenance(dir string) string {
	id, err := HeadCommit(dir)
	if err != nil {
		return "unknown"
	}
	return id[:7]
}

// HeadCommit returns the full commit id HEAD resolves to in the work tree
// containing dir.
func HeadCommit(dir string) (string, error) {
	gitDir, err := findGitDir(dir)
	if err != nil {
		return "", err
	}
	common := gitDir
	if b, err := os.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
		c := strings.TrimSpace(string(b))
		if !filepath.IsAbs(c) {
			c = filepath.Join(gitDir, c)
		}
		common = c
	}
	head, err := os.ReadFile(filepath.Join(gitDir, "HEAD"))
	if err != nil {
		return "", fmt.Errorf("reading HEAD: %w", err)
	}
	val := strings.TrimSpace(string(head))
	// Symbolic refs may chain; git itself stops after a few levels.
	for range 5 {
		ref, ok := strings.CutPrefix(val, "ref:")
		if !ok {
			if isObjectID(val) {
				return val, nil
			}
			return "", fmt.Errorf("HEAD resolves to %q, not a commit id", val)
		}
		if val, err = readRef(gitDir, common, strings.TrimSpace(ref)); err != nil {
			return "", err
		}
	}
	return "", errors.New("symbolic ref chain too deep")
}

// findGitDir walks up from dir to the first .git: a directory, or a file
// "gitdir: PATH" as worktrees and submodules have.
func findGitDir(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(d, ".git")
		if st, err := os.Stat(p); err == nil {
			if st.IsDir() {
				return p, nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return "", err
			}
			target, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir:")
			if !ok {
				return "", fmt.Errorf("%s: not a gitdir link", p)
			}
			target = strings.TrimSpace(target)
			if !filepath.IsAbs(target) {
				target = filepath.Join(d, target)
			}
			return target, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no git checkout at or above %s", dir)
		}
		d = parent
	}
}

// readRef reads one ref: per-worktree refs live in gitDir, shared ones in
// the common dir, either loose or in packed-refs.
func readRef(gitDir, common, ref string) (string, error) {
	if strings.Contains(ref, "..") {
		return "", fmt.Errorf("malformed ref %q", ref)
	}
	for _, base := range []string{gitDir, common} {
		if b, err := os.ReadFile(filepath.Join(base, filepath.FromSlash(ref))); err == nil {
			return strings.TrimSpace(string(b)), nil
		}
	}
	f, err := os.Open(filepath.Join(common, "packed-refs"))
	if err != nil {
		return "", fmt.Errorf("ref %s not found (unborn branch?)", ref)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' || line[0] == '^' {
			continue
		}
		id, name, ok := strings.Cut(line, " ")
		if ok && name == ref {
			return id, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("reading packed-refs: %w", err)
	}
	return "", fmt.Errorf("ref %s not found (unborn branch?)", ref)
}

// isObjectID accepts SHA-1 (40) and SHA-256 (64) hex ids.
func isObjectID(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
