package kvm

import (
	"strings"
	"testing"
)

func TestHardwareAssisted(t *testing.T) {
	const head = "processor\t: 0\nvendor_id\t: GenuineIntel\n"
	for _, tc := range []struct {
		name, cpuinfo string
		pvm           bool
		want          string // "" means usable
	}{
		{"VT-x", head + "flags\t\t: fpu vme de pse tsc msr vmx smx est\n", false, ""},
		{"AMD-V", head + "flags\t\t: fpu vme svm extapic\n", false, ""},
		{"AMD-V with kvm_pvm loaded too", head + "flags\t\t: fpu svm\n", true, ""},
		{"PVM", head + "flags\t\t: fpu vme de pse tsc msr hypervisor\n", true, "PVM's (module kvm_pvm)"},
		{"no extensions", head + "flags\t\t: fpu vme de pse tsc msr hypervisor\n", false, "neither vmx nor svm"},
		{"flag names are whole words", head + "flags\t\t: fpu vmxon_fake svm_lock\n", false, "neither vmx nor svm"},
		{"vmx flags line does not count", head + "vmx flags\t: vnmi preemption_timer\nflags\t\t: fpu\n", false, "neither vmx nor svm"},
		{"not x86", "processor\t: 0\nFeatures\t: fp asimd\n", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := hardwareAssisted([]byte(tc.cpuinfo), tc.pvm)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("err %v, want usable", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "qemu-tcg") {
				t.Fatalf("err %v, want one with %q that names the qemu-tcg backend", err, tc.want)
			}
		})
	}
}
