package kernel

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkResolveCached20 resolves the newest of 20 cached kernels, the
// per-test cost of finding a kernel (goal: well under 50 ms).
func BenchmarkResolveCached20(b *testing.B) {
	b.Setenv(EnvKernel, "")
	c := openTestCache(b)
	base := time.Now()
	for i := range 20 {
		storeFake(b, c, fmt.Sprintf("6.12.%d-tarball-x86_64-kc%s", i, KconfigHash()), meta(fmt.Sprintf("6.12.%d", i), KconfigHash(), base.Add(time.Duration(i)*time.Minute)), true)
	}
	o := noFallback(c.Root())
	b.ResetTimer()
	for b.Loop() {
		k, err := Resolve(context.Background(), o)
		if err != nil || k.Meta.Version != "6.12.19" {
			b.Fatalf("Resolve = %+v, %v", k, err)
		}
	}
}

// BenchmarkResolveKey20 looks one key up among 20 entries.
func BenchmarkResolveKey20(b *testing.B) {
	c := openTestCache(b)
	for i := range 20 {
		storeFake(b, c, fmt.Sprintf("k%d", i), meta("6.12.1", KconfigHash(), time.Now()), true)
	}
	o := noFallback(c.Root())
	o.Spec = "k7"
	b.ResetTimer()
	for b.Loop() {
		if _, err := Resolve(context.Background(), o); err != nil {
			b.Fatal(err)
		}
	}
}
