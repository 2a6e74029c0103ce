package cachedir

import (
	"os"
	"path/filepath"
	"testing"
)

// The caches sit under XDG_CACHE_HOME, else ~/.cache, and without a home
// in the temp dir.
func TestDir(t *testing.T) {
	tests := []struct {
		xdg, home, sub, want string
	}{
		{"/xdg", "/home/u", "scheds", "/xdg/ktstr/scheds"},
		{"", "/home/u", "kernels", "/home/u/.cache/ktstr/kernels"},
		{"", "", "src", filepath.Join(os.TempDir(), "ktstr", "src")},
	}
	for _, tc := range tests {
		t.Setenv("XDG_CACHE_HOME", tc.xdg)
		t.Setenv("HOME", tc.home)
		if got := Dir(tc.sub); got != tc.want {
			t.Errorf("XDG_CACHE_HOME=%q HOME=%q: Dir(%q) = %s, want %s", tc.xdg, tc.home, tc.sub, got, tc.want)
		}
	}
}
