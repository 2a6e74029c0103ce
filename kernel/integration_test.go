package kernel

import (
	"context"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

// Source61 is Debian's linux-source-6.1 (CFS, no sched_ext), the suite's
// second kernel (tools/setup/install-deps.sh installs it).
const Source61 = "/usr/src/linux-source-6.1.tar.xz"

// TestBuildRealKernel builds Debian's linux-source-6.12 and -6.1 through
// Build into the default cache (KTSTR_CACHE_DIR or ~/.cache/ktstr/kernels).
// The key is version + kconfig hash, so only the first run on a machine
// pays (~12 min and ~10 min of 2 cores); later runs return the cached
// entries at once. 6.1 gets the fragment without its 6.12-only options,
// and everything else of it is verified in the cached config.
func TestBuildRealKernel(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a real kernel; skipped under -short")
	}
	if runtime.GOARCH != "amd64" {
		t.Skip("Build supports x86_64 only")
	}
	tests := []struct {
		source, major string
		schedExt      bool
	}{
		{DefaultSource, "6.12.", true},
		{Source61, "6.1.", false},
	}
	for _, tc := range tests {
		t.Run(tc.major+"x", func(t *testing.T) {
			if _, err := os.Stat(tc.source); err != nil {
				t.Skipf("kernel source %s absent (tools/setup/install-deps.sh installs it)", tc.source)
			}
			buildRealKernel(t, tc.source, tc.major, tc.schedExt)
		})
	}
}

func buildRealKernel(t *testing.T, source, major string, schedExt bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Minute)
	defer cancel()
	start := time.Now()
	k, err := Build(ctx, BuildOptions{Source: source, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("key %s (%s) in %v: image %s", k.Key, k.Source, time.Since(start).Round(time.Millisecond), k.Image)
	if !strings.HasPrefix(k.Meta.Version, major) {
		t.Errorf("version %q, want %sx", k.Meta.Version, major)
	}
	if k.Key != k.Meta.Version+"-tarball-x86_64-kc"+KconfigHashFor(k.Meta.Version) {
		t.Errorf("key %q does not follow {version}-tarball-{arch}-kc{hash for the version}", k.Key)
	}
	cfg, err := os.ReadFile(k.Config)
	if err != nil {
		t.Fatal(err)
	}
	want, omitted, err := KconfigFor(k.Meta.Version)
	if err != nil {
		t.Fatal(err)
	}
	if m := missingOptions(want, string(cfg)); len(m) != 0 {
		t.Errorf("cached config misses %v", m)
	}
	if strings.Join(omitted, ",") != strings.Join(k.Meta.KconfigOmitted, ",") {
		t.Errorf("metadata omits %v, the fragment for %s omits %v", k.Meta.KconfigOmitted, k.Meta.Version, omitted)
	}
	if got, _, why := k.SchedExt(); got != schedExt {
		t.Errorf("sched_ext %v (%s), want %v", got, why, schedExt)
	}
	if n, err := checkBTF(k.Vmlinux, schedExt); err != nil || n < 10000 {
		t.Errorf("BTF of %s: %d types, %v", k.Vmlinux, n, err)
	}
	if v, err := ImageRelease(k.Image); err != nil || v != k.Meta.Version {
		t.Errorf("%s: release %q, %v; want %s", k.Image, v, err, k.Meta.Version)
	}
	t.Setenv(EnvKernel, k.Meta.Version)
	r, err := Resolve(ctx, ResolveOptions{LocalTrees: []string{}, HostPaths: []string{}})
	if err != nil || r.Image != k.Image {
		t.Errorf("KTSTR_KERNEL=%s resolves to %+v, %v", k.Meta.Version, r, err)
	}
}
