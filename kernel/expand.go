package kernel

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// ExpandOptions says where ExpandRange looks for kernels.
type ExpandOptions struct {
	// CacheDir is the kernel cache; empty means DefaultCacheDir.
	CacheDir string
	// Registry is a repository (REGISTRY/REPO) whose tags are kernel
	// versions or cache keys (as `ktstr kernel push` tags them); empty
	// means the cache only.
	Registry string
	Insecure bool
}

// tagVersionRE takes the version off a tag: "6.12.118" or a cache key
// "6.12.118-tarball-x86_64-kce525dbc3".
var tagVersionRE = regexp.MustCompile(`^([0-9]+\.[0-9]+(?:\.[0-9]+)?(?:-rc[0-9]+)?)(?:-tarball-([a-z0-9_]+)-kc[0-9a-f]{8})?$`)

// ExpandRange turns a range A..B into one kernel identifier per release
// in it, oldest first: cache keys of usable cached kernels built with the
// kconfig for their version, and REGISTRY/REPO:TAG references for
// releases only the registry has (resolving such a reference pulls it
// once). A release in both is taken from the cache. It errors for an
// inverted range and when nothing matches, naming where it looked.
func ExpandRange(ctx context.Context, id ID, opts ExpandOptions) ([]string, error) {
	if id.Kind != IDRange {
		return nil, fmt.Errorf("kernel %s is not a range A..B", id.Raw)
	}
	if err := id.Validate(); err != nil {
		return nil, err
	}
	in := func(v string) bool {
		lo, err1 := compareVersions(id.Start, v)
		hi, err2 := compareVersions(v, id.End)
		return err1 == nil && err2 == nil && lo <= 0 && hi <= 0
	}
	found := map[string]string{} // version → identifier
	c, err := OpenCache(opts.CacheDir, nil)
	if err != nil {
		return nil, err
	}
	entries, err := c.List()
	if err != nil {
		return nil, err
	}
	// Newest build first: keep the first usable entry of each version.
	for i := range entries {
		e := &entries[i]
		v := e.Meta.Version
		if _, dup := found[v]; dup || e.Corrupt != "" || v == "" || !in(v) {
			continue
		}
		if e.Meta.Arch != "" && e.Meta.Arch != HostArch() {
			continue
		}
		if e.Meta.KconfigStatus(KconfigHashFor(v)) == KconfigStale {
			continue
		}
		found[v] = e.Key
	}
	where := "the kernel cache (" + c.Root() + ")"
	if opts.Registry != "" {
		where += " and " + opts.Registry
		tags, err := ListTags(ctx, opts.Registry, opts.Insecure)
		if err != nil {
			return nil, err
		}
		for _, tag := range tags {
			m := tagVersionRE.FindStringSubmatch(tag)
			if m == nil || !in(m[1]) {
				continue
			}
			if m[2] != "" && m[2] != HostArch() {
				continue
			}
			if _, have := found[m[1]]; !have {
				found[m[1]] = opts.Registry + ":" + tag
			}
		}
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("kernel range %s matches no kernel in %s: build or pull kernels in it (`ktstr kernel build --source ...`, `ktstr kernel pull`)", id.Raw, where)
	}
	versions := make([]string, 0, len(found))
	for v := range found {
		versions = append(versions, v)
	}
	sort.Slice(versions, func(i, j int) bool {
		c, _ := compareVersions(versions[i], versions[j])
		return c < 0
	})
	out := make([]string, len(versions))
	for i, v := range versions {
		out[i] = found[v]
	}
	return out, nil
}

// SplitList splits a kernel list as KTSTR_KERNEL_LIST and repeated
// --kernel flags carry it: entries separated by ';' (or ','), each
// "SPEC" or "LABEL=SPEC" (a label names the kernel in test names instead
// of its release). Blank entries are dropped.
func SplitList(s string) []ListEntry {
	var out []ListEntry
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' }) {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		e := ListEntry{Spec: f}
		if l, spec, ok := strings.Cut(f, "="); ok && labelRE.MatchString(l) {
			e = ListEntry{Label: l, Spec: strings.TrimSpace(spec)}
		}
		out = append(out, e)
	}
	return out
}

// ListEntry is one kernel of a list: a spec (any ID form) and an
// optional label.
type ListEntry struct {
	Label string
	Spec  string
}

var labelRE = regexp.MustCompile(`^[A-Za-z0-9_.+-]+$`)

// EnvKernelList names the variable carrying several kernels (SplitList
// syntax) across process boundaries; it beats KTSTR_KERNEL.
const EnvKernelList = "KTSTR_KERNEL_LIST"
