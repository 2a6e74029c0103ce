package results

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestListAndResolve(t *testing.T) {
	root := t.TempDir()
	early, late := synthRun(t, fixture{cg1Share: 0.5}), synthRun(t, fixture{cg1Share: 0.5})
	late.Started = early.Started.Add(time.Hour)
	late.Test = "other"
	for _, r := range []*Run{late, early} {
		if err := Write(filepath.Join(root, NewID(r.Test, r.Started)), r); err != nil {
			t.Fatal(err)
		}
	}
	matrix := filepath.Join(root, "20261203T120000Z-matrix")
	if err := Write(filepath.Join(matrix, "fifo"), synthRun(t, fixture{cg1Share: 0.5})); err != nil {
		t.Fatal(err)
	}
	if err := WriteIndex(matrix, "m", []IndexCase{{Name: "fifo", Dir: "fifo"}}); err != nil {
		t.Fatal(err)
	}
	entries, err := List(root)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range entries {
		ids = append(ids, e.ID)
	}
	want := "20261203T093000Z-synthetic 20261203T120000Z-matrix/fifo 20261203T103000Z-other"
	if got := strings.Join(ids, " "); got != want {
		t.Errorf("List = %s, want %s (oldest first; matrix cases by their own start)", got, want)
	}

	tests := []struct {
		arg, want, wantErr string
	}{
		{"20261203T093000Z-synthetic", filepath.Join(root, "20261203T093000Z-synthetic"), ""},
		{"20261203T1030", filepath.Join(root, "20261203T103000Z-other"), ""},
		{matrix, matrix, ""},
		{"20261203T120000Z-matrix/fifo", filepath.Join(matrix, "fifo"), ""},
		{"2026", "", "ambiguous"},
		{"nope", "", "ktstr stats list"},
	}
	for _, tc := range tests {
		got, err := Resolve(root, tc.arg)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Resolve(%q) = %q, %v; want an error with %q", tc.arg, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tc.arg, got, err, tc.want)
		}
	}
	if es, err := List(filepath.Join(root, "missing")); err != nil || len(es) != 0 {
		t.Errorf("List of a missing root = %v, %v; want nothing", es, err)
	}
}
