package kernel

import (
	"slices"
	"strings"
	"testing"
)

func TestFragmentFor(t *testing.T) {
	frag := "# c\nCONFIG_A=y\nCONFIG_NEW=y # since 6.12\nCONFIG_OLD=y # before 6.10\nCONFIG_NR=64\n"
	tests := []struct {
		version     string
		want        []string // options in the applied fragment
		wantOmitted string
		wantErr     string
	}{
		{"", []string{"CONFIG_A=y", "CONFIG_NEW=y", "CONFIG_NR=64"}, "", ""},
		{"6.12.118", []string{"CONFIG_A=y", "CONFIG_NEW=y", "CONFIG_NR=64"}, "", ""},
		{"6.12-rc3", []string{"CONFIG_A=y", "CONFIG_NEW=y", "CONFIG_NR=64"}, "", ""},
		{"6.13", []string{"CONFIG_A=y", "CONFIG_NEW=y", "CONFIG_NR=64"}, "", ""},
		{"6.10.5", []string{"CONFIG_A=y", "CONFIG_NR=64"}, "CONFIG_NEW", ""},
		{"6.1.192", []string{"CONFIG_A=y", "CONFIG_OLD=y", "CONFIG_NR=64"}, "CONFIG_NEW", ""},
		{"5.15", []string{"CONFIG_A=y", "CONFIG_OLD=y", "CONFIG_NR=64"}, "CONFIG_NEW", ""},
		{"six", nil, "", "malformed kernel version"},
	}
	for _, tc := range tests {
		got, omitted, err := fragmentFor(frag, tc.version)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: err %v, want %q", tc.version, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.version, err)
			continue
		}
		var opts []string
		for _, o := range requiredOptions(got) {
			opts = append(opts, o.String())
		}
		want := append([]string(nil), tc.want...)
		for i := range want {
			want[i] = configOption{Name: strings.Split(want[i], "=")[0], Value: strings.Split(want[i], "=")[1]}.String()
		}
		if strings.Join(slices.Sorted(slices.Values(opts)), " ") != strings.Join(slices.Sorted(slices.Values(want)), " ") {
			t.Errorf("%q: applied %v, want %v", tc.version, opts, want)
		}
		if strings.Contains(got, "since") || strings.Contains(got, "before") {
			t.Errorf("%q: annotation left in the applied fragment:\n%s", tc.version, got)
		}
		if strings.Join(omitted, ",") != tc.wantOmitted {
			t.Errorf("%q: omitted %v, want %q", tc.version, omitted, tc.wantOmitted)
		}
	}
}

// The embedded fragment as the two kernels of the suite get it: 6.12
// keeps the key it always had, 6.1 lacks sched_ext and gains MODULES
// (which BPF_JIT and KPROBES depend on there).
func TestEmbeddedKconfigPerVersion(t *testing.T) {
	if KconfigHashFor("6.12.118") != KconfigHash() {
		t.Error("6.12 is not keyed by KconfigHash")
	}
	if KconfigHashFor("6.1.192") == KconfigHash() {
		t.Error("6.1, built without sched_ext, shares 6.12's kconfig hash")
	}
	f, omitted, err := KconfigFor("6.1.192")
	if err != nil {
		t.Fatal(err)
	}
	opts := parseConfig(f)
	if opts["CONFIG_MODULES"] != "y" || opts["CONFIG_SCHED_CLASS_EXT"] != "" || opts["CONFIG_BPF_JIT"] != "y" {
		t.Errorf("6.1 fragment: MODULES=%q SCHED_CLASS_EXT=%q BPF_JIT=%q", opts["CONFIG_MODULES"], opts["CONFIG_SCHED_CLASS_EXT"], opts["CONFIG_BPF_JIT"])
	}
	if strings.Join(omitted, ",") != "CONFIG_SCHED_CLASS_EXT,CONFIG_EXT_GROUP_SCHED" {
		t.Errorf("6.1 omits %v", omitted)
	}
	cur, _, _ := KconfigFor("")
	if parseConfig(cur)["CONFIG_MODULES"] != "" {
		t.Error("current kernels get CONFIG_MODULES, which changes their cache key")
	}
	if KconfigHashFor("garbage") != KconfigHash() {
		t.Error("a malformed version does not fall back to KconfigHash")
	}
}

// A kernel built without an option says so, and verification of the
// rest still names what is missing.
func TestMissingOptionsOnReducedFragment(t *testing.T) {
	f, _, _ := fragmentFor("CONFIG_A=y\nCONFIG_NEW=y # since 6.12\nCONFIG_B=y\n", "6.1")
	if m := missingOptions(f, "CONFIG_A=y\n"); len(m) != 1 || m[0] != "CONFIG_B=y (config has it unset)" {
		t.Fatalf("missing %q", m)
	}
}
