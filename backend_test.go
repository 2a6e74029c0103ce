package ktstr

import (
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/kvm"
	"github.com/ktstr-go/ktstr/vmm/native"
)

func TestSelectBackend(t *testing.T) {
	kvmErr := native.New().Available()
	auto, err := SelectBackend("auto")
	if err != nil {
		t.Fatal(err)
	}
	if want := "kvm"; kvmErr == nil && auto.Name() != want {
		t.Errorf("auto with usable /dev/kvm chose %s, want %s", auto.Name(), want)
	}
	if kvmErr != nil && !strings.HasPrefix(auto.Name(), "qemu") {
		t.Errorf("auto without /dev/kvm chose %s, want qemu", auto.Name())
	}
	// A /dev/kvm without VT-x/AMD-V (PVM) must not accelerate QEMU either.
	if hwErr := kvm.HardwareAssisted(); hwErr != nil && auto.Name() != "qemu-tcg" {
		t.Errorf("auto on a host whose /dev/kvm is not hardware-assisted (%v) chose %s, want qemu-tcg", hwErr, auto.Name())
	}
	_, err = SelectBackend("kvm")
	if (err == nil) != (kvmErr == nil) {
		t.Errorf("kvm: err %v, but /dev/kvm check says %v", err, kvmErr)
	}
	if err != nil && !strings.Contains(err.Error(), "/dev/kvm") {
		t.Errorf("kvm error %q does not name /dev/kvm", err)
	}
	if b, err := SelectBackend("qemu-tcg"); err != nil || b.Name() != "qemu-tcg" {
		t.Errorf("qemu-tcg: %v, %v", b, err)
	}
	if _, err := SelectBackend("firecracker"); err == nil || !strings.Contains(err.Error(), "auto, kvm, qemu or qemu-tcg") {
		t.Errorf("unknown backend error %v", err)
	}
}
