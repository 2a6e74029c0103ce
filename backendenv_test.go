package ktstr

import "testing"

func TestBackendName(t *testing.T) {
	tests := []struct {
		name, option, env, want string
	}{
		{"neither: auto", "", "", ""},
		{"environment", "", "kvm", "kvm"},
		{"option wins", "qemu-tcg", "kvm", "qemu-tcg"},
		{"blank option falls back", "  ", "qemu", "qemu"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvBackend, tt.env)
			if got := backendName(RunOptions{Backend: tt.option}); got != tt.want {
				t.Errorf("backendName(Backend %q, %s=%q) = %q, want %q", tt.option, EnvBackend, tt.env, got, tt.want)
			}
		})
	}
}
