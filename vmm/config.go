package vmm

import (
	"errors"
	"io"
	"time"

	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr/topology"
)

// DefaultMemoryMB is the guest RAM of a Config without MemoryMB.
const DefaultMemoryMB = 1024

// Config is everything a backend needs to boot one test VM.
type Config struct {
	// Kernel is the path of a bzImage.
	Kernel string
	// Initramfs is the path of a cpio archive (optionally gzipped).
	Initramfs string
	// Cmdline is appended to the backend's own console/panic arguments.
	Cmdline string
	// Topology is the CPU shape the guest must see.
	Topology topology.Topology
	// MemoryMB is guest RAM in MiB, DefaultMemoryMB when zero. The NUMA nodes share
	// it in 2 MiB steps, as evenly as that allows, adding up to exactly it.
	MemoryMB int
	// Timeout bounds the whole run; when it passes the VM is killed and
	// Wait reports ExitTimeout. Zero means no bound beyond ctx.
	Timeout time.Duration
	// Console receives the guest's console (ttyS0) output as it arrives.
	// Nil discards it (the tail is still kept for Exit.ConsoleTail).
	Console io.Writer
	// Interactive connects the console to Stdin/Console for a shell.
	Interactive bool
	Stdin       io.Reader
	// WorkDir holds sockets and the guest-memory file; a temp dir is
	// created (and removed) when empty.
	WorkDir string
	// Log receives backend diagnostics; nil means zap.NewNop().
	Log *zap.Logger
}

// Check reports the first reason no backend could boot c: a topology
// that cannot be built, or no kernel. Each backend checks its own limits
// (guest RAM below the PCI hole, NUMA node sizes) on top.
func (c Config) Check() error {
	if err := c.Topology.Validate(); err != nil {
		return err
	}
	if c.Kernel == "" {
		return errors.New("vmm: Config.Kernel is empty: resolve a kernel first (see `ktstr kernel list`)")
	}
	return nil
}

// GuestMemoryMB is the guest RAM the VM gets: MemoryMB, or
// DefaultMemoryMB when it is zero.
func (c Config) GuestMemoryMB() int {
	if c.MemoryMB == 0 {
		return DefaultMemoryMB
	}
	return c.MemoryMB
}

// Logger is Log, or a logger that discards everything when it is nil.
func (c Config) Logger() *zap.Logger {
	if c.Log == nil {
		return zap.NewNop()
	}
	return c.Log
}
