// Package kerneltest gives tests the kernel under test: its bzImage and the
// BTF of its vmlinux, found the way the harness finds them. A test skips
// when there is no kernel yet (run `ktstr kernel build`), but fails when
// KTSTR_BZIMAGE or KTSTR_VMLINUX names a file that is not there, or when
// a kernel is required (KTSTR_REQUIRE_KERNEL, CI).
package kerneltest

import (
	"context"
	"debug/elf"
	"os"
	"testing"

	"github.com/cilium/ebpf/btf"

	"github.com/ktstr-go/ktstr/kernel"
)

// EnvBzImage overrides the bzImage Image returns.
const EnvBzImage = "KTSTR_BZIMAGE"

// Image returns the bzImage of the kernel under test: $KTSTR_BZIMAGE, else
// the one kernel.Resolve picks (the cached default kernel).
func Image(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(EnvBzImage); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s: %v", EnvBzImage, p, err)
		}
		return p
	}
	k, err := kernel.Resolve(context.Background(), kernel.ResolveOptions{})
	if err != nil {
		noKernel(t, "no kernel (run `ktstr kernel build` or set %s): %v", EnvBzImage, err)
	}
	return k.Image
}

// Vmlinux returns the vmlinux of the kernel under test (kernel.FindVmlinux).
func Vmlinux(t testing.TB) string {
	t.Helper()
	p, err := kernel.FindVmlinux(context.Background())
	if err != nil {
		if os.Getenv(kernel.EnvVmlinux) != "" {
			t.Fatal(err)
		}
		noKernel(t, "no vmlinux with BTF (run `ktstr kernel build` or set %s): %v", kernel.EnvVmlinux, err)
	}
	return p
}

// noKernel skips t, or fails it when a kernel is required
// (kernel.Required: KTSTR_REQUIRE_KERNEL or CI).
func noKernel(t testing.TB, format string, args ...any) {
	t.Helper()
	if kernel.Required() {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// BTF loads the BTF of the kernel under test's vmlinux.
func BTF(t testing.TB) *btf.Spec {
	t.Helper()
	p := Vmlinux(t)
	spec, err := btf.LoadSpec(p)
	if err != nil {
		t.Fatalf("loading BTF from %s: %v", p, err)
	}
	return spec
}

// Symbols returns the addresses of the named symbols in the vmlinux of
// the kernel under test, and fails the test when one is missing.
func Symbols(t testing.TB, names ...string) map[string]uint64 {
	t.Helper()
	p := Vmlinux(t)
	f, err := elf.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	addr := map[string]uint64{}
	for _, s := range syms {
		if want[s.Name] {
			addr[s.Name] = s.Value
		}
	}
	for _, n := range names {
		if addr[n] == 0 {
			t.Fatalf("%s has no symbol %s", p, n)
		}
	}
	return addr
}
