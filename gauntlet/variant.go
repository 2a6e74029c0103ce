package gauntlet

import (
	"strings"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/scheds"
	"github.com/ktstr-go/ktstr/topology"
)

// Variant is one case of the gauntlet: a test on one preset, with one
// flag combination, on one kernel.
type Variant struct {
	Test   *ktstr.Test
	Preset topology.Preset
	// Flags is the scheduler flag combination (nil: none).
	Flags  []string
	Kernel Kernel
	// Skip says why the variant cannot run (a sched_ext test on a kernel
	// without sched_ext); it is reported as skipped without a VM.
	Skip string
}

// FlagsName is the flag combination's part of the name: "base" for none,
// else the flags joined by '+'.
func (v Variant) FlagsName() string { return scheds.VariantName(v.Flags) }

// Path names the variant within its test: PRESET/FLAGS/KERNEL.
func (v Variant) Path() string {
	return v.Preset.Name + "/" + v.FlagsName() + "/" + v.Kernel.Label
}

// ID names the variant: TEST/PRESET/FLAGS/KERNEL. It is stable across
// runs, so it keys the measured durations too.
func (v Variant) ID() string { return v.Test.Name + "/" + v.Path() }

// SchedName names what schedules the variant's tasks: the sched_ext
// scheduler's name, else the kernel's fair class (EEVDF from 6.6 on, CFS
// before).
func (v Variant) SchedName() string {
	if s := v.Test.Scheduler; s != nil {
		return s.Name
	}
	return v.Kernel.FairClass()
}

// schedKey identifies the flag dimension's owner: flag names mean
// something only for one scheduler; "fair" is the kernel's own class
// (EEVDF or CFS, by kernel).
func (v Variant) schedKey() string {
	if s := v.Test.Scheduler; s != nil {
		return s.Name
	}
	return "fair"
}

// dims are the variant's values per dimension, as "dimension:value".
func (v Variant) dims() []string {
	return []string{
		"test:" + v.Test.Name,
		"preset:" + v.Preset.Name,
		"flags:" + v.schedKey() + ":" + v.FlagsName(),
		"kernel:" + v.Kernel.Label,
	}
}

// Dimension names, in table order.
const (
	DimTest   = "test"
	DimPreset = "preset"
	DimFlags  = "flags"
	DimKernel = "kernel"
)

// splitDim splits "dimension:value" (flags values keep their scheduler:
// "flags:ktstr_fifo:base").
func splitDim(d string) (dim, value string) {
	dim, value, _ = strings.Cut(d, ":")
	return dim, value
}
