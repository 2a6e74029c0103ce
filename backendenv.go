package ktstr

import (
	"os"
	"strings"
)

// EnvBackend names the VMM when the caller sets none (RunOptions.Backend):
// auto, kvm, qemu or qemu-tcg. The Bazel launcher sets it to "kvm" for
// tests that need hardware KVM, so such a test fails on an emulating
// executor instead of passing there under QEMU.
const EnvBackend = "KTSTR_BACKEND"

// backendName is the VMM a run asks for: RunOptions.Backend, else
// KTSTR_BACKEND, else "" (auto). The same precedence as settle's: the
// caller, then the environment, then the default.
func backendName(ro RunOptions) string {
	if b := strings.TrimSpace(ro.Backend); b != "" {
		return b
	}
	return strings.TrimSpace(os.Getenv(EnvBackend))
}
