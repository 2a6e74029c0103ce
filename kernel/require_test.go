package kernel

import "testing"

func TestRequired(t *testing.T) {
	for _, tc := range []struct {
		require, ci string
		want        bool
	}{
		{"", "", false},
		{"1", "", true},
		{"true", "", true},
		{"", "true", true},
		{"", "1", true},
		{"0", "true", false}, // an explicit no beats CI
		{"", "false", false},
		{"yes please", "", true},
	} {
		t.Setenv(EnvRequire, tc.require)
		t.Setenv("CI", tc.ci)
		if got := Required(); got != tc.want {
			t.Errorf("%s=%q CI=%q: Required() = %v, want %v", EnvRequire, tc.require, tc.ci, got, tc.want)
		}
	}
}
