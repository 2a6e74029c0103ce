package kernel

import (
	"bufio"
	"fmt"
	"regexp"
	"strings"
)

// A fragment line may end in an annotation that ties the option to kernel
// versions:
//
//	CONFIG_SCHED_CLASS_EXT=y # since 6.12   the option exists from 6.12 on
//	CONFIG_MODULES=y # before 6.10          only older kernels need it
//
// A kernel outside an option's range is built without it; every option
// that applies is still verified after olddefconfig, and the options a
// kernel lacks are recorded in its cache entry (Metadata.KconfigOmitted)
// so `ktstr kernel list` and the gauntlet can say what it cannot run.
var versionedRE = regexp.MustCompile(`^(CONFIG_[A-Za-z0-9_]+=\S+)\s+#\s*(since|before)\s+(\S+)\s*$`)

// fragmentFor returns the fragment a kernel of the given version is built
// with, annotations removed, and the names of the "since" options it
// lacks (a "before" option a kernel does not need is not a lack). An
// empty version means a current kernel (and a git source, whose version
// is known only after checkout): every "since" option, no "before" one.
func fragmentFor(fragment, version string) (applied string, omitted []string, err error) {
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(fragment))
	for sc.Scan() {
		line := sc.Text()
		m := versionedRE.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			b.WriteString(line + "\n")
			continue
		}
		older := false
		if version != "" {
			if older, err = versionOlder(version, m[3]); err != nil {
				return "", nil, fmt.Errorf("kconfig line %q: %w", line, err)
			}
		}
		switch {
		case m[2] == "since" && older:
			name, _, _ := strings.Cut(m[1], "=")
			omitted = append(omitted, name)
		case m[2] == "before" && (version == "" || !older):
		default:
			b.WriteString(m[1] + "\n")
		}
	}
	return b.String(), omitted, sc.Err()
}

// versionOlder reports whether kernel version v is older than release
// ("6.12"), comparing MAJOR.MINOR only: an option that appeared in 6.12
// exists in every 6.12.y and in 6.12-rcN.
func versionOlder(v, release string) (bool, error) {
	va, err := parseVersion(v)
	if err != nil {
		return false, err
	}
	vr, err := parseVersion(release)
	if err != nil {
		return false, fmt.Errorf("bad release in annotation: %w", err)
	}
	if va[0] != vr[0] {
		return va[0] < vr[0], nil
	}
	return va[1] < vr[1], nil
}

// KconfigFor returns the embedded fragment as applied to a kernel of the
// given version ("" for a current one), and the options that kernel is
// built without because it predates them.
func KconfigFor(version string) (fragment string, omitted []string, err error) {
	return fragmentFor(EmbeddedKconfig, version)
}

// KconfigHashFor is the kconfig hash a kernel of the given version is
// built and cached with: KconfigHash for a current kernel, the hash of
// its own fragment for an older one. A malformed version gets
// KconfigHash.
func KconfigHashFor(version string) string {
	f, _, err := KconfigFor(version)
	if err != nil {
		f, _, _ = KconfigFor("")
	}
	return kconfigHashOf(f)
}
