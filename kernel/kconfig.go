// Package kernel supplies the guest kernels ktstr boots: it parses kernel
// identifiers, builds sched_ext kernels with the embedded kconfig fragment,
// keeps them in an OCI image layout cache, moves them to and from OCI
// registries, and resolves which kernel a test should boot.
package kernel

import (
	"bufio"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
)

// EmbeddedKconfig is the kconfig fragment every ktstr guest kernel is built
// with. Its hash is part of every cache key, so changing it makes the cache
// build fresh kernels instead of reusing ones that lack an option.
//
//go:embed ktstr.kconfig
var EmbeddedKconfig string

// KconfigHash returns the first 8 hex digits of the SHA-256 of
// EmbeddedKconfig's options as a current kernel gets them (KconfigFor with
// no version): the "kc" suffix of cache keys. Older kernels are keyed by
// KconfigHashFor their version.
func KconfigHash() string { return KconfigHashFor("") }

// kconfigHashOf hashes the options only, sorted, one "CONFIG_X=v" per line:
// editing comments or reordering lines builds the same kernel, so it must
// not invalidate every cached one.
func kconfigHashOf(fragment string) string {
	h := sha256.New()
	for _, o := range requiredOptions(fragment) {
		fmt.Fprintln(h, o)
	}
	return hex.EncodeToString(h.Sum(nil)[:4])
}

// configOption is one CONFIG_ line of a fragment. Value "n" stands for
// "# CONFIG_X is not set".
type configOption struct {
	Name  string
	Value string
}

func (o configOption) String() string {
	if o.Value == "n" {
		return "# " + o.Name + " is not set"
	}
	return o.Name + "=" + o.Value
}

// parseConfig reads the options of a kconfig fragment or a full .config.
// Comments other than "# CONFIG_X is not set" and blank lines are ignored.
func parseConfig(text string) map[string]string {
	opts := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if name, ok := strings.CutPrefix(line, "# "); ok {
			if n, ok := strings.CutSuffix(name, " is not set"); ok && strings.HasPrefix(n, "CONFIG_") {
				opts[n] = "n"
			}
			continue
		}
		if !strings.HasPrefix(line, "CONFIG_") {
			continue
		}
		name, val, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		opts[name] = val
	}
	return opts
}

// requiredOptions lists a fragment's options in name order.
func requiredOptions(fragment string) []configOption {
	m := parseConfig(fragment)
	out := make([]configOption, 0, len(m))
	for n, v := range m {
		out = append(out, configOption{n, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// missingOptions returns, for each option of fragment that the final
// config does not carry with the same value, a line naming what was asked
// and what the config has.
func missingOptions(fragment, config string) []string {
	have := parseConfig(config)
	var missing []string
	for _, o := range requiredOptions(fragment) {
		got, ok := have[o.Name]
		switch {
		case o.Value == "n" && (!ok || got == "n"):
		case ok && got == o.Value:
		case !ok || got == "n":
			missing = append(missing, fmt.Sprintf("%s (config has it unset)", o))
		default:
			missing = append(missing, fmt.Sprintf("%s (config has %s=%s)", o, o.Name, got))
		}
	}
	return missing
}
