package qemu

import (
	"errors"
	"io"
	"os"
	"testing"

	"github.com/ktstr-go/ktstr/vmm/x86"
)

func TestFileMemoryUnequalNodes(t *testing.T) {
	dir := t.TempDir()
	files := memFiles(dir, 2)
	for i, data := range []string{"abc", "defgh"} {
		if err := os.WriteFile(files[i], []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fm := &fileMemory{files: files, nodes: []x86.NodeMemory{{Node: 0, Base: 0, Size: 3}, {Node: 1, Base: 3, Size: 5}}}
	tests := []struct {
		off     int64
		n       int
		want    string
		wantEOF bool
	}{
		{0, 3, "abc", false},
		{2, 4, "cdef", false},
		{3, 5, "defgh", false},
		{6, 4, "gh", true},
		{8, 1, "", true},
		{-1, 1, "", true},
	}
	for _, tc := range tests {
		p := make([]byte, tc.n)
		n, err := fm.ReadAt(p, tc.off)
		if got := string(p[:n]); got != tc.want {
			t.Errorf("ReadAt(%d bytes at %d) = %q, want %q", tc.n, tc.off, got, tc.want)
		}
		if errors.Is(err, io.EOF) != tc.wantEOF || (err != nil && !tc.wantEOF) {
			t.Errorf("ReadAt(%d bytes at %d) err %v, want EOF %v", tc.n, tc.off, err, tc.wantEOF)
		}
	}
}
