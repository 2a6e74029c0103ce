package guest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
)

// BuiltinHandle is a kernel-builtin scheduler: one the kernel already has
// (EEVDF with other features, a sched_ext scheduler built into the
// kernel), switched on and off by shell commands instead of a binary. It
// satisfies scenario.SchedulerControl like SchedHandle.
type BuiltinHandle struct {
	name            string
	enable, disable []string

	mu      sync.Mutex
	enabled bool
}

// StartBuiltin runs the enable commands.
func StartBuiltin(name string, enable, disable []string) (*BuiltinHandle, error) {
	if len(enable) == 0 {
		return nil, fmt.Errorf("kernel-builtin scheduler %s: no enable commands", name)
	}
	h := &BuiltinHandle{name: name, enable: enable, disable: disable}
	if err := h.Attach(); err != nil {
		return nil, err
	}
	return h, nil
}

// Name names the scheduler.
func (h *BuiltinHandle) Name() string { return h.name }

// Attach runs the enable commands; a no-op while enabled.
func (h *BuiltinHandle) Attach() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.enabled {
		return nil
	}
	if err := runCommands(h.name, "enable", h.enable); err != nil {
		return err
	}
	h.enabled = true
	return nil
}

// Detach runs the disable commands; a no-op while disabled.
func (h *BuiltinHandle) Detach() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.enabled {
		return nil
	}
	h.enabled = false
	return runCommands(h.name, "disable", h.disable)
}

// Alive is nil while enabled: the kernel's own scheduler cannot die.
func (h *BuiltinHandle) Alive() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.enabled {
		return fmt.Errorf("kernel-builtin scheduler %s is disabled", h.name)
	}
	return nil
}

// Stop runs the disable commands at the end of a test.
func (h *BuiltinHandle) Stop() error { return h.Detach() }

// runCommands runs each command with /bin/sh -c, stopping at the first
// failure, which names the command and carries its output.
func runCommands(name, what string, cmds []string) error {
	if len(cmds) > 0 {
		if err := ensureShell(); err != nil {
			return fmt.Errorf("kernel-builtin scheduler %s: %w", name, err)
		}
	}
	for _, c := range cmds {
		out, err := exec.Command("/bin/sh", "-c", c).CombinedOutput()
		if err != nil {
			return fmt.Errorf("kernel-builtin scheduler %s: %s command %q: %v%s", name, what, c, err,
				section("output", strings.TrimSpace(string(out))))
		}
	}
	return nil
}

// ensureShell installs busybox's applets once when the initramfs has
// busybox but no /bin/sh yet.
func ensureShell() error {
	if _, err := os.Stat("/bin/sh"); err == nil {
		return nil
	}
	return InstallBusybox()
}
