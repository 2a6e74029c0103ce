package ktstr

import (
	"fmt"
	"os"

	"github.com/ktstr-go/ktstr/kvm"
	"github.com/ktstr-go/ktstr/vmm"
	"github.com/ktstr-go/ktstr/vmm/native"
	"github.com/ktstr-go/ktstr/vmm/qemu"
	"go.uber.org/zap"
)

// SelectBackend picks the VMM: "auto" prefers the in-repo KVM VMM when
// /dev/kvm is usable, else QEMU (TCG without KVM); "kvm" insists on the
// in-repo VMM and says why it cannot run; "qemu" uses QEMU with KVM when
// possible; "qemu-tcg" forces software emulation.
func SelectBackend(name string) (vmm.Backend, error) { return selectBackend(name, zap.NewNop()) }

// selectBackend is SelectBackend that, when auto falls back to QEMU
// although /dev/kvm exists, logs why the in-repo VMM could not use it:
// otherwise a misconfigured KVM host silently runs everything under
// emulation.
func selectBackend(name string, log *zap.Logger) (vmm.Backend, error) {
	switch name {
	case "", "auto":
		k := native.New()
		err := k.Available()
		if err == nil {
			return k, nil
		}
		if _, statErr := os.Stat(kvm.DevicePath); statErr == nil {
			log.Warn(kvm.DevicePath+" exists but the in-repo VMM cannot use it; running under QEMU (--backend kvm makes this an error)", zap.Error(err))
		}
		return &qemu.Backend{}, nil
	case "kvm":
		k := native.New()
		if err := k.Available(); err != nil {
			return nil, fmt.Errorf("backend kvm: %w", err)
		}
		return k, nil
	case "qemu":
		return &qemu.Backend{}, nil
	case "qemu-tcg":
		return &qemu.Backend{ForceTCG: true}, nil
	}
	return nil, fmt.Errorf("unknown backend %q: use auto, kvm, qemu or qemu-tcg", name)
}
