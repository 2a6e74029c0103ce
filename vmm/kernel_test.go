package vmm

import (
	"context"
	"os"
	"testing"

	"github.com/cilium/ebpf/btf"

	"github.com/ktstr-go/ktstr/kernel"
)

// KernelImageForTest lets vmm_test tests boot the kernel under test.
var KernelImageForTest = kernelImage

// kernelImage is the bzImage of the kernel under test: $KTSTR_BZIMAGE,
// else the one kernel.Resolve picks (the cached default kernel); the test
// skips without one.
func kernelImage(t testing.TB) string {
	p := os.Getenv("KTSTR_BZIMAGE")
	if p == "" {
		k, err := kernel.Resolve(context.Background(), kernel.ResolveOptions{})
		if err != nil {
			t.Skipf("no kernel (set KTSTR_BZIMAGE or run `ktstr kernel build`): %v", err)
		}
		p = k.Image
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("no kernel at %s (set KTSTR_BZIMAGE): %v", p, err)
	}
	return p
}

// kernelBTF loads the BTF of the kernel under test; the test skips when
// there is none (no kernel built yet) unless KTSTR_VMLINUX names one.
func kernelBTF(t *testing.T) *btf.Spec {
	t.Helper()
	p, err := kernel.FindVmlinux(context.Background())
	if err != nil {
		if os.Getenv(kernel.EnvVmlinux) != "" {
			t.Fatal(err)
		}
		t.Skipf("no vmlinux with BTF (run `ktstr kernel build` or set %s): %v", kernel.EnvVmlinux, err)
	}
	spec, err := btf.LoadSpec(p)
	if err != nil {
		t.Fatalf("loading BTF from %s: %v", p, err)
	}
	return spec
}
