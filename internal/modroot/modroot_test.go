package modroot

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestFind(t *testing.T) {
	root := t.TempDir()
	outer := filepath.Join(root, "outer")
	inner := filepath.Join(outer, "vendor", "inner")
	deep := filepath.Join(inner, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(dir, mod string) {
		if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module "+mod+"\n\ngo 1.26\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(outer, "example.com/outer")
	write(inner, "example.com/inner")
	tests := []struct {
		dir, path, want string
	}{
		{deep, "", inner},
		{deep, "example.com/inner", inner},
		{deep, "example.com/outer", outer},
		{outer, "example.com/outer", outer},
	}
	for _, tc := range tests {
		got, err := Find(tc.dir, tc.path)
		if err != nil || got != tc.want {
			t.Errorf("Find(%s, %q) = %s, %v; want %s", tc.dir, tc.path, got, err, tc.want)
		}
	}
	if _, err := Find(deep, "example.com/missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing module: err %v, want ErrNotFound", err)
	}
	if _, err := Find(root, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("no go.mod above %s: err %v, want ErrNotFound", root, err)
	}
}
