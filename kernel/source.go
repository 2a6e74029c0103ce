package kernel

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// DefaultSource is the kernel source Build uses when none is given: the
// tarball of Debian's linux-source-6.12 package (6.12.117), which
// tools/setup/install-deps.sh installs.
const DefaultSource = "/usr/src/linux-source-6.12.tar.xz"

// source is a parsed BuildOptions.Source.
type source struct {
	kind   SourceKind
	path   string // local tree or tarball file
	url    string // tarball URL (kind tarball) or git URL
	sha256 string // tarball URL checksum
	ref    string // git ref
	commit string // git commit, filled by identify
}

// stableGit is the kernel's stable tree, whose tags are the releases.
const stableGit = "https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux.git"

var tarballRE = regexp.MustCompile(`\.(tar|tar\.xz|txz|tar\.gz|tgz|tar\.bz2|tbz2|tar\.zst)$`)

// parseSource classifies s: "" (DefaultSource), a directory (local tree), a
// tarball path, an http(s) tarball URL with #sha256=HEX (or sum), or
// git+URL#REF.
func parseSource(s, sum string) (source, error) {
	if s == "" {
		s = DefaultSource
		if _, err := os.Stat(s); err != nil {
			return source{}, fmt.Errorf("default kernel source %s is missing: install Debian's linux-source-6.12 package (tools/setup/install-deps.sh) or pass a source (--source DIR|TARBALL|URL#sha256=HEX|git+URL#REF)", s)
		}
	}
	if rest, ok := strings.CutPrefix(s, "git+"); ok {
		u, ref, _ := strings.Cut(rest, "#")
		if u == "" || ref == "" {
			return source{}, fmt.Errorf("git kernel source %q needs a URL and a ref: use git+URL#REF (branch, tag or commit)", s)
		}
		return source{kind: SourceGit, url: u, ref: ref}, nil
	}
	if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		u, frag, _ := strings.Cut(s, "#")
		if h, ok := strings.CutPrefix(frag, "sha256="); ok {
			sum = h
		}
		sum = strings.ToLower(sum)
		if len(sum) != 64 {
			return source{}, fmt.Errorf("tarball URL %s needs its SHA-256: append #sha256=HEX or pass --sha256 HEX", u)
		}
		return source{kind: SourceTarball, url: u, sha256: sum}, nil
	}
	abs, err := filepath.Abs(s)
	if err != nil {
		return source{}, err
	}
	if _, err := os.Stat(abs); err != nil && versionRE.MatchString(s) {
		return source{}, fmt.Errorf("kernel source %s is a version, not a source: ktstr builds from a source tree, a tarball, "+
			"https://cdn.kernel.org/pub/linux/kernel/v%s.x/linux-%s.tar.xz#sha256=HEX or git+%s#v%s", s, strings.Split(s, ".")[0], s, stableGit, s)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return source{}, fmt.Errorf("kernel source %s: %w (want a source tree, a tarball, URL#sha256=HEX, or git+URL#REF)", s, err)
	}
	if st.IsDir() {
		if _, err := os.Stat(filepath.Join(abs, "Kconfig")); err != nil {
			return source{}, fmt.Errorf("kernel source %s is not a kernel tree (no Kconfig at its top)", s)
		}
		return source{kind: SourceLocal, path: abs}, nil
	}
	if !tarballRE.MatchString(abs) {
		return source{}, fmt.Errorf("kernel source %s is neither a directory nor a tarball (.tar, .tar.xz, .tar.gz, .tar.bz2, .tar.zst)", s)
	}
	return source{kind: SourceTarball, path: abs}, nil
}

// CheckSource checks a BuildOptions.Source (and SHA256) the way Build
// will, without fetching or building anything: commands call it before
// slow work so a typo costs nothing.
func CheckSource(s, sum string) error {
	_, err := parseSource(s, sum)
	return err
}

// describe is the SourceDetail recorded in metadata.
func (s source) describe() string {
	switch {
	case s.kind == SourceGit:
		return s.url + "#" + s.ref + "@" + s.commit
	case s.url != "":
		return s.url + "#sha256=" + s.sha256
	}
	return s.path
}

// identify returns the kernel version and cache key without building, so a
// cached kernel is found cheaply. A URL tarball whose name carries no
// version is downloaded into work first (dl is then its path).
//
// kchash gives the kconfig hash for a version ("" when it is not known
// before the build, as for git sources): older kernels are built with a
// reduced fragment (fragmentFor) and keyed by its hash.
func (s *source) identify(ctx context.Context, c *Cache, work, arch string, kchash func(version string) string) (version, key string, err error) {
	suffix := func(v string) string { return "-" + arch + "-kc" + kchash(v) }
	switch s.kind {
	case SourceLocal:
		v, err := makefileVersion(s.path)
		if err != nil {
			return "", "", err
		}
		sum := sha256.Sum256([]byte(s.path))
		return v, "local-" + hex.EncodeToString(sum[:4]) + suffix(v), nil
	case SourceGit:
		commit, err := gitResolve(ctx, s.url, s.ref)
		if err != nil {
			return "", "", err
		}
		s.commit = commit
		return "", sanitizeTag(s.ref) + "-git-" + commit[:12] + suffix(""), nil
	}
	if s.url != "" {
		if m := regexp.MustCompile(`linux-([0-9]+\.[0-9]+(\.[0-9]+)?(-rc[0-9]+)?)\.tar`).FindStringSubmatch(filepath.Base(s.url)); m != nil {
			return m[1], m[1] + "-tarball" + suffix(m[1]), nil
		}
		if err := s.download(ctx, work); err != nil {
			return "", "", err
		}
	}
	v, err := c.tarballVersion(ctx, s.path)
	if err != nil {
		return "", "", err
	}
	return v, v + "-tarball" + suffix(v), nil
}

// download fetches a tarball URL into dir, checking its SHA-256; s.path
// then names the file.
func (s *source) download(ctx context.Context, dir string) error {
	if s.path != "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("downloading kernel tarball: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("downloading kernel tarball %s: HTTP %s", s.url, resp.Status)
	}
	name := filepath.Base(req.URL.Path)
	if !tarballRE.MatchString(name) {
		name = "linux.tar"
	}
	dst := filepath.Join(dir, name)
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("downloading kernel tarball %s: %w", s.url, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != s.sha256 {
		os.Remove(dst)
		return fmt.Errorf("kernel tarball %s has SHA-256 %s, expected %s: check the URL and the checksum", s.url, got, s.sha256)
	}
	s.path = dst
	return nil
}

// materialize makes a source tree for an out-of-tree build and returns it:
// the local tree itself, or dir/src extracted or cloned.
func (s *source) materialize(ctx context.Context, work string) (string, error) {
	if s.kind == SourceLocal {
		// kbuild refuses O= builds from a tree configured in place; say
		// so before spending time on tinyconfig.
		for _, f := range []string{".config", "include/config"} {
			if _, err := os.Stat(filepath.Join(s.path, f)); err == nil {
				return "", fmt.Errorf("kernel tree %s is not clean (it has %s from an in-tree build): run `make mrproper` there, or build from a tarball", s.path, f)
			}
		}
		return s.path, nil
	}
	src := filepath.Join(work, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	if s.kind == SourceGit {
		for _, args := range [][]string{
			{"init", "-q"},
			{"fetch", "-q", "--depth", "1", s.url, s.commit},
			{"checkout", "-q", "FETCH_HEAD"},
		} {
			if out, err := exec.CommandContext(ctx, "git", append([]string{"-C", src}, args...)...).CombinedOutput(); err != nil {
				return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
			}
		}
		return src, nil
	}
	if err := s.download(ctx, filepath.Join(work, "dl")); err != nil {
		return "", err
	}
	out, err := exec.CommandContext(ctx, "tar", "-xf", s.path, "-C", src, "--strip-components=1").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("extracting %s: %w: %s", s.path, err, strings.TrimSpace(string(out)))
	}
	return src, nil
}

// gitResolve turns a branch or tag into a commit with git ls-remote; a
// full commit hash is taken as is.
func gitResolve(ctx context.Context, url, ref string) (string, error) {
	if regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(ref) {
		return ref, nil
	}
	out, err := exec.CommandContext(ctx, "git", "ls-remote", url, ref, ref+"^{}").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("git ls-remote %s %s: %w: %s", url, ref, err, strings.TrimSpace(string(ee.Stderr)))
		}
		return "", fmt.Errorf("git ls-remote %s %s: %w", url, ref, err)
	}
	commit := ""
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		// A peeled tag (^{}) names the commit; prefer it over the tag object.
		if commit == "" || strings.HasSuffix(f[1], "^{}") {
			commit = f[0]
		}
	}
	if commit == "" {
		return "", fmt.Errorf("git ref %q not found in %s: give an existing branch, tag or full commit hash", ref, url)
	}
	return commit, nil
}

// makefileVersion reads VERSION.PATCHLEVEL.SUBLEVEL[EXTRAVERSION] from a
// tree's top Makefile.
func makefileVersion(dir string) (string, error) {
	f, err := os.Open(filepath.Join(dir, "Makefile"))
	if err != nil {
		return "", fmt.Errorf("reading kernel version: %w", err)
	}
	defer f.Close()
	return parseMakefileVersion(f)
}

func parseMakefileVersion(r io.Reader) (string, error) {
	vals := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() && len(vals) < 4 {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		switch k {
		case "VERSION", "PATCHLEVEL", "SUBLEVEL", "EXTRAVERSION":
			vals[k] = strings.TrimSpace(v)
		}
	}
	for _, k := range []string{"VERSION", "PATCHLEVEL", "SUBLEVEL"} {
		if _, err := strconv.Atoi(vals[k]); err != nil {
			return "", fmt.Errorf("kernel Makefile has no numeric %s", k)
		}
	}
	return vals["VERSION"] + "." + vals["PATCHLEVEL"] + "." + vals["SUBLEVEL"] + vals["EXTRAVERSION"], nil
}

// tarballVersion reads the top Makefile out of a tarball. Decompressing to
// it takes ~1.7 s for the Debian tarball, so the answer is remembered per
// (path, size, mtime) in the cache directory.
func (c *Cache) tarballVersion(ctx context.Context, path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(path))
	memo := filepath.Join(c.root, ".ktstr-sources", hex.EncodeToString(sum[:8]))
	stamp := fmt.Sprintf("%d %d ", st.Size(), st.ModTime().UnixNano())
	if b, err := os.ReadFile(memo); err == nil {
		if v, ok := strings.CutPrefix(string(b), stamp); ok && v != "" {
			return v, nil
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	args := []string{"-dc", path}
	prog := decompressor(path)
	if prog == "cat" {
		args = []string{path}
	}
	cmd := exec.CommandContext(ctx, prog, args...)
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	// Stop decompressing as soon as the Makefile is read.
	defer func() { cancel(); _ = cmd.Wait() }()
	r := io.Reader(pipe)
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err != nil {
			return "", fmt.Errorf("no top-level Makefile in kernel tarball %s: %w", path, err)
		}
		_, rest, ok := strings.Cut(strings.TrimPrefix(h.Name, "./"), "/")
		if !ok || rest != "Makefile" {
			continue
		}
		v, err := parseMakefileVersion(tr)
		if err != nil {
			return "", fmt.Errorf("kernel tarball %s: %w", path, err)
		}
		if err := os.MkdirAll(filepath.Dir(memo), 0o755); err == nil {
			_ = writeFileAtomic(memo, []byte(stamp+v), 0o644)
		}
		return v, nil
	}
}

func decompressor(path string) string {
	switch {
	case strings.HasSuffix(path, ".xz") || strings.HasSuffix(path, ".txz"):
		return "xz"
	case strings.HasSuffix(path, ".gz") || strings.HasSuffix(path, ".tgz"):
		return "gzip"
	case strings.HasSuffix(path, ".bz2") || strings.HasSuffix(path, ".tbz2"):
		return "bzip2"
	case strings.HasSuffix(path, ".zst"):
		return "zstd"
	}
	return "cat"
}
