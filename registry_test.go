package ktstr

import (
	"strings"
	"testing"
)

func TestCloseMatches(t *testing.T) {
	names := []string{"two_cgroups", "two_cgroups_smt", "fairness", "isolation", "starvation"}
	tests := []struct {
		in   string
		want string
	}{
		{"two_cgroup", "two_cgroups two_cgroups_smt"}, // substring first
		{"fairnes", "fairness"},
		{"isolatoin", "isolation"},
		{"zzz", ""},
	}
	for _, tt := range tests {
		if got := strings.Join(closeMatches(tt.in, names), " "); got != tt.want {
			t.Errorf("closeMatches(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
