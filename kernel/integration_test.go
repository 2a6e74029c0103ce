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

// TestBuildRealKernel builds Debian's linux-source-6.12 through Build into
// the default cache (KTSTR_CACHE_DIR or ~/.cache/ktstr/kernels). The key is
// version + kconfig hash, so only the first run on a machine pays (~5-15
// min at -j2); later runs return the cached entry at once.
func TestBuildRealKernel(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a real kernel; skipped under -short")
	}
	if _, err := os.Stat(DefaultSource); err != nil {
		t.Skipf("kernel source %s absent (install Debian's linux-source-6.12)", DefaultSource)
	}
	if runtime.GOARCH != "amd64" {
		t.Skip("Build supports x86_64 only")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Minute)
	defer cancel()
	start := time.Now()
	k, err := Build(ctx, BuildOptions{Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("key %s (%s) in %v: image %s", k.Key, k.Source, time.Since(start).Round(time.Millisecond), k.Image)
	if k.Meta.Version != "6.12.117" && !strings.HasPrefix(k.Meta.Version, "6.12.") {
		t.Errorf("version %q, want 6.12.x", k.Meta.Version)
	}
	if k.Key != k.Meta.Version+"-tarball-x86_64-kc"+KconfigHash() {
		t.Errorf("key %q does not follow {version}-tarball-{arch}-kc{hash}", k.Key)
	}
	cfg, err := os.ReadFile(k.Config)
	if err != nil {
		t.Fatal(err)
	}
	if m := missingOptions(EmbeddedKconfig, string(cfg)); len(m) != 0 {
		t.Errorf("cached config misses %v", m)
	}
	if n, err := checkBTF(k.Vmlinux); err != nil || n < 10000 {
		t.Errorf("BTF of %s: %d types, %v", k.Vmlinux, n, err)
	}
	img, err := os.ReadFile(k.Image)
	if err != nil || len(img) < 0x202+4 || string(img[0x202:0x206]) != "HdrS" {
		t.Errorf("%s is not a bzImage (no HdrS boot header)", k.Image)
	}
	t.Setenv(EnvKernel, k.Meta.Version)
	r, err := Resolve(ctx, ResolveOptions{LocalTrees: []string{}, HostPaths: []string{}})
	if err != nil || r.Image != k.Image {
		t.Errorf("KTSTR_KERNEL=%s resolves to %+v, %v", k.Meta.Version, r, err)
	}
}
