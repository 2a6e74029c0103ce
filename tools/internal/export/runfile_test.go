package export

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteRunfile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.run")
	// Overwriting an existing file must also produce mode 0755.
	writeFile(t, path, "old", 0o600)
	archive := bytes.Repeat([]byte{0, 1, 2, 250, 251, 252, 'a'}, 100)
	preamble := "#!/bin/bash\necho hi\n"
	if err := WriteRunfile(path, preamble, archive); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o755 {
		t.Errorf("mode %v, want 0755", st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	head, payload, ok := strings.Cut(string(b), "\n"+ArchiveMarker+"\n")
	if !ok || head+"\n" != preamble {
		t.Fatalf("file does not start with the preamble and the marker line:\n%.200s", b)
	}
	lines := strings.Split(strings.TrimSuffix(payload, "\n"), "\n")
	for i, l := range lines {
		if len(l) > Base64LineWidth || (i < len(lines)-1 && len(l) != Base64LineWidth) {
			t.Errorf("base64 line %d has %d columns, want %d", i, len(l), Base64LineWidth)
		}
	}
	dec, err := base64.StdEncoding.DecodeString(strings.Join(lines, ""))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dec, archive) {
		t.Error("decoded payload differs from the archive")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only x.run (temp file left behind?)", len(ents))
	}
}

func TestWriteRunfileFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	if err := WriteRunfile(filepath.Join(dir, "missing", "x.run"), "#!/bin/bash\n", nil); err == nil {
		t.Fatal("no error writing into a missing directory")
	}
	// A directory in the way: the rename fails after the temp file was
	// written, which must be cleaned up.
	target := filepath.Join(dir, "taken.run")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(target, "keep"), "x", 0o644)
	if err := WriteRunfile(target, "#!/bin/bash\n", []byte("x")); err == nil {
		t.Fatal("no error replacing a non-empty directory")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("left behind: %v", names)
	}
}
