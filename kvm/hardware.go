package kvm

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
)

// HardwareAssisted reports, as an error naming the way out, when /dev/kvm
// on this host does not run guests on the CPU's virtualization extensions.
// Such a /dev/kvm opens, speaks the API and creates VMs, yet a standard
// kernel barely boots on it: PVM (module kvm_pvm), for one, runs guests
// without VT-x/AMD-V and expects PVM guest kernels; measured on such a
// host, a standard 6.12 kernel was still in early boot after two minutes,
// on the in-repo VMM and on QEMU alike. It returns nil when it cannot
// tell (no /proc/cpuinfo).
func HardwareAssisted() error {
	info, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return nil
	}
	_, pvmErr := os.Stat("/sys/module/kvm_pvm")
	return hardwareAssisted(info, pvmErr == nil)
}

// hardwareAssisted decides from /proc/cpuinfo's text and whether kvm_pvm
// is loaded: KVM can use the CPU's extensions only if its flags carry vmx
// (Intel VT-x) or svm (AMD-V).
func hardwareAssisted(cpuinfo []byte, pvm bool) error {
	sc := bufio.NewScanner(bytes.NewReader(cpuinfo))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		key, flags, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.TrimSpace(key) != "flags" {
			continue
		}
		for _, f := range strings.Fields(flags) {
			if f == "vmx" || f == "svm" {
				return nil
			}
		}
		if pvm {
			return fmt.Errorf("%s is PVM's (module kvm_pvm), which runs only PVM guest kernels, without VT-x/AMD-V (the CPU flags have neither vmx nor svm): use the qemu-tcg backend here, or a host with VT-x/AMD-V or nested virtualization", DevicePath)
		}
		return fmt.Errorf("%s exists but the CPU flags have neither vmx nor svm, so KVM cannot use VT-x/AMD-V: enable them in firmware or nested virtualization on this VM's host, or use the qemu-tcg backend", DevicePath)
	}
	return nil // not an x86 cpuinfo: cannot tell
}
