package vmm

import (
	"strings"
	"testing"
)

func TestKernelCmdline(t *testing.T) {
	base := KernelCmdline("")
	for _, want := range []string{"console=ttyS0,115200", "panic=-1", "oops=panic", "nokaslr", "rdinit=/init"} {
		if !strings.Contains(base, want) {
			t.Errorf("KernelCmdline lacks %q: %s", want, base)
		}
	}
	tests := []struct{ extra, want string }{
		{"", base},
		{"   ", base},
		{"ktstr.mode=test", base + " ktstr.mode=test"},
		{"  quiet loglevel=4 \n", base + " quiet loglevel=4"},
	}
	for _, tc := range tests {
		if got := KernelCmdline(tc.extra); got != tc.want {
			t.Errorf("KernelCmdline(%q) = %q, want %q", tc.extra, got, tc.want)
		}
	}
}
