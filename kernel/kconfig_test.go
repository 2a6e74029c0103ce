package kernel

import (
	"regexp"
	"strings"
	"testing"
)

func TestKconfigHash(t *testing.T) {
	h := KconfigHash()
	t.Logf("KconfigHash() = %s", h)
	if !regexp.MustCompile(`^[0-9a-f]{8}$`).MatchString(h) {
		t.Fatalf("KconfigHash() = %q, want 8 hex digits", h)
	}
	current, _, err := KconfigFor("")
	if err != nil {
		t.Fatal(err)
	}
	if kconfigHashOf(current) != h {
		t.Fatal("KconfigHash is not the hash of the current kernels' fragment")
	}
	if kconfigHashOf(current+"CONFIG_X=y\n") == h {
		t.Fatal("hash ignores an added option")
	}
	if kconfigHashOf(strings.Replace(current, "CONFIG_NR_CPUS=64", "CONFIG_NR_CPUS=32", 1)) == h {
		t.Fatal("hash ignores a changed value")
	}
	// Comments, blank lines and order do not change the kernel.
	if kconfigHashOf("# a comment\n\nCONFIG_B=y\nCONFIG_A=y\n") != kconfigHashOf("CONFIG_A=y\nCONFIG_B=y\n") {
		t.Fatal("hash depends on comments or order")
	}
}

// The options the harness relies on (issue 2) must be in the fragment.
func TestEmbeddedKconfigHasRequiredOptions(t *testing.T) {
	current, _, err := KconfigFor("")
	if err != nil {
		t.Fatal(err)
	}
	opts := parseConfig(current)
	for _, name := range []string{
		"SCHED_CLASS_EXT", "BPF", "BPF_SYSCALL", "BPF_JIT", "BPF_JIT_ALWAYS_ON", "DEBUG_INFO_BTF", "FTRACE",
		"KPROBES", "KPROBE_EVENTS", "BPF_EVENTS", "CGROUPS", "CPUSETS", "CGROUP_FREEZER", "CGROUP_SCHED",
		"SCHEDSTATS", "SCHED_MC", "SCHED_SMT", "NUMA", "ACPI", "ACPI_NUMA", "SERIAL_8250_CONSOLE",
		"VIRTIO_CONSOLE", "VIRTIO_MMIO", "VIRTIO_MMIO_CMDLINE_DEVICES", "BLK_DEV_INITRD", "DEVTMPFS",
		"KALLSYMS_ALL", "IKCONFIG", "IKCONFIG_PROC", "KVM_GUEST", "PARAVIRT", "KVM", "KVM_AMD", "KVM_INTEL",
		"NET", "CFS_BANDWIDTH",
	} {
		if v := opts["CONFIG_"+name]; v != "y" {
			t.Errorf("CONFIG_%s = %q in ktstr.kconfig, want y", name, v)
		}
	}
	if opts["CONFIG_NR_CPUS"] != "64" {
		t.Errorf("CONFIG_NR_CPUS = %q: tinyconfig clamps it to 2 unless set", opts["CONFIG_NR_CPUS"])
	}
}

func TestMissingOptions(t *testing.T) {
	frag := "CONFIG_A=y\nCONFIG_B=64\n# CONFIG_C is not set\nCONFIG_D=y\n# a comment\n"
	cfg := "CONFIG_A=y\nCONFIG_B=2\nCONFIG_C=y\n# CONFIG_D is not set\n"
	got := missingOptions(frag, cfg)
	want := []string{
		"CONFIG_B=64 (config has CONFIG_B=2)",
		"# CONFIG_C is not set (config has CONFIG_C=y)",
		"CONFIG_D=y (config has it unset)",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("missingOptions:\n got %q\nwant %q", got, want)
	}
	if m := missingOptions(frag, "CONFIG_A=y\nCONFIG_B=64\nCONFIG_D=y\n"); len(m) != 0 {
		t.Fatalf("complete config reported missing %q", m)
	}
}
