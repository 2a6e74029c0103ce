package kernel

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// IDKind says what a kernel identifier names.
type IDKind int

// The kinds of kernel identifier ParseID recognises.
const (
	// IDPath is a kernel source/build directory or an image file.
	IDPath IDKind = iota + 1
	// IDVersion is a release such as 6.12.117 or 6.13-rc2.
	IDVersion
	// IDCacheKey is the key (tag) of a local cache entry.
	IDCacheKey
	// IDDigest is a manifest digest (sha256:...) of a local cache entry.
	IDDigest
	// IDOCIRef is a registry reference such as ghcr.io/o/kernels:6.12.
	IDOCIRef
	// IDRange is a span of releases A..B (multi-kernel).
	IDRange
	// IDGit is a git source git+URL#REF (multi-kernel).
	IDGit
)

func (k IDKind) String() string {
	switch k {
	case IDPath:
		return "path"
	case IDVersion:
		return "version"
	case IDCacheKey:
		return "cache key"
	case IDDigest:
		return "digest"
	case IDOCIRef:
		return "OCI reference"
	case IDRange:
		return "range"
	case IDGit:
		return "git"
	}
	return "unknown"
}

// ID is a parsed kernel identifier. Value holds the path, version, key,
// digest or reference; ranges fill Start and End, git sources URL and Ref.
type ID struct {
	Kind  IDKind
	Raw   string
	Value string
	Start string
	End   string
	URL   string
	Ref   string
}

var (
	versionRE = regexp.MustCompile(`^[0-9]+\.[0-9]+(\.[0-9]+)?(-rc[0-9]+)?$`)
	digestRE  = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
)

// ParseID classifies s (already trimmed by the caller or not) as one of the
// IDKind forms. Classification is syntactic, so ParseID never touches the
// network; call Validate for semantic checks such as inverted ranges.
//
// Order matters: git before paths (a git URL has slashes), ranges before
// paths ("../linux" contains ".." but its sides are not versions), paths
// before OCI references (a relative path with a colon is still a path if it
// exists or starts with ./, ../, / or ~).
func ParseID(s string) (ID, error) {
	s = strings.TrimSpace(s)
	id := ID{Raw: s, Value: s}
	if s == "" {
		return id, errors.New("empty kernel identifier: give a bzImage or build tree, a cached version (6.12 or 6.12.118), a cache key (see `ktstr kernel list`) or an OCI reference")
	}
	if rest, ok := strings.CutPrefix(s, "git+"); ok {
		id.Kind = IDGit
		id.URL, id.Ref, _ = strings.Cut(rest, "#")
		return id, nil
	}
	if a, b, ok := strings.Cut(s, ".."); ok && versionRE.MatchString(a) && versionRE.MatchString(b) {
		id.Kind, id.Start, id.End = IDRange, a, b
		return id, nil
	}
	if versionRE.MatchString(s) {
		id.Kind = IDVersion
		return id, nil
	}
	if digestRE.MatchString(s) {
		id.Kind = IDDigest
		return id, nil
	}
	if strings.HasPrefix(s, "/") || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") ||
		strings.HasPrefix(s, "~") || s == "." || s == ".." {
		id.Kind = IDPath
		return id, nil
	}
	if _, err := os.Stat(s); err == nil {
		id.Kind = IDPath
		return id, nil
	}
	if looksLikeOCIRef(s) {
		id.Kind = IDOCIRef
		return id, nil
	}
	if strings.Contains(s, "/") {
		id.Kind = IDPath
		return id, nil
	}
	id.Kind = IDCacheKey
	return id, nil
}

// looksLikeOCIRef accepts host[:port]/repo[:tag|@digest] where host has a
// dot or a port or is localhost, the docker rule for "this is a registry".
func looksLikeOCIRef(s string) bool {
	host, rest, ok := strings.Cut(s, "/")
	if !ok || rest == "" {
		return false
	}
	return strings.Contains(host, ".") || strings.Contains(host, ":") || host == "localhost"
}

// Validate reports semantic errors: an inverted range (with the swapped
// form to use), a git source without URL or ref, a malformed version.
func (id ID) Validate() error {
	switch id.Kind {
	case IDRange:
		c, err := compareVersions(id.Start, id.End)
		if err != nil {
			return err
		}
		if c > 0 {
			return fmt.Errorf("inverted kernel range: the start is newer than the end; swap the endpoints: %s..%s", id.End, id.Start)
		}
	case IDGit:
		if id.URL == "" {
			return errors.New("git kernel spec has no URL: use git+URL#REF")
		}
		if id.Ref == "" {
			return errors.New("git kernel spec has no ref: use git+URL#REF with a branch, tag or commit")
		}
	case IDVersion:
		if _, err := parseVersion(id.Value); err != nil {
			return err
		}
	case 0:
		return fmt.Errorf("kernel identifier %q was not parsed: use ParseID", id.Raw)
	}
	return nil
}

func (id ID) String() string { return id.Raw }

// parseVersion splits 6.12.117 or 6.13-rc2 into numbers; an rc sorts
// before its release (rc n is encoded as n-1000).
func parseVersion(v string) ([4]int, error) {
	var out [4]int
	if !versionRE.MatchString(v) {
		return out, fmt.Errorf("malformed kernel version %q: want MAJOR.MINOR[.PATCH][-rcN], e.g. 6.12.117", v)
	}
	main, rc, hasRC := strings.Cut(v, "-rc")
	for i, p := range strings.Split(main, ".") {
		n, err := strconv.Atoi(p)
		if err != nil {
			return out, fmt.Errorf("malformed kernel version %q: %w", v, err)
		}
		out[i] = n
	}
	if hasRC {
		n, _ := strconv.Atoi(rc)
		out[3] = n - 1000
	}
	return out, nil
}

// compareVersions returns -1, 0 or 1 as a is older, equal or newer than b.
func compareVersions(a, b string) (int, error) {
	va, err := parseVersion(a)
	if err != nil {
		return 0, err
	}
	vb, err := parseVersion(b)
	if err != nil {
		return 0, err
	}
	for i := range va {
		if va[i] != vb[i] {
			if va[i] < vb[i] {
				return -1, nil
			}
			return 1, nil
		}
	}
	return 0, nil
}
