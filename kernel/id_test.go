package kernel

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseID(t *testing.T) {
	tests := []struct {
		in    string
		kind  IDKind
		value string
	}{
		{"/abs/linux", IDPath, "/abs/linux"},
		{"./linux", IDPath, "./linux"},
		{"../linux", IDPath, "../linux"},
		{"~/src/linux", IDPath, "~/src/linux"},
		{"some/rel/dir", IDPath, "some/rel/dir"},
		{"6.12.117", IDVersion, "6.12.117"},
		{"6.13", IDVersion, "6.13"},
		{"6.14-rc2", IDVersion, "6.14-rc2"},
		{"  6.12.117\t", IDVersion, "6.12.117"},
		{"6.12.117-tarball-x86_64-kce525dbc3", IDCacheKey, "6.12.117-tarball-x86_64-kce525dbc3"},
		{"sha256:" + strings.Repeat("ab", 32), IDDigest, "sha256:" + strings.Repeat("ab", 32)},
		{"ghcr.io/org/kernels:6.12", IDOCIRef, "ghcr.io/org/kernels:6.12"},
		{"localhost/k:1", IDOCIRef, "localhost/k:1"},
		{"127.0.0.1:5000/k@sha256:" + strings.Repeat("0", 64), IDOCIRef, "127.0.0.1:5000/k@sha256:" + strings.Repeat("0", 64)},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			id, err := ParseID(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if id.Kind != tt.kind || id.Value != tt.value {
				t.Fatalf("ParseID(%q) = %v %q, want %v %q", tt.in, id.Kind, id.Value, tt.kind, tt.value)
			}
			if err := id.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

func TestParseIDMultiKernel(t *testing.T) {
	id, err := ParseID("6.12..6.16")
	if err != nil || id.Kind != IDRange || id.Start != "6.12" || id.End != "6.16" {
		t.Fatalf("range: %+v %v", id, err)
	}
	if err := id.Validate(); err != nil {
		t.Fatalf("ordered range rejected: %v", err)
	}
	id, _ = ParseID("git+https://example.org/linux.git#v6.12")
	if id.Kind != IDGit || id.URL != "https://example.org/linux.git" || id.Ref != "v6.12" {
		t.Fatalf("git: %+v", id)
	}
	if _, err := ParseID("   "); err == nil {
		t.Fatal("empty identifier accepted")
	}
}

func TestValidateErrors(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"6.16..6.12", []string{"inverted kernel range", "6.12..6.16"}},
		{"6.12.10..6.12.9", []string{"inverted kernel range", "6.12.9..6.12.10"}},
		{"6.13..6.13-rc1", []string{"inverted kernel range", "6.13-rc1..6.13"}},
		{"git+https://example.org/linux.git", []string{"no ref", "git+URL#REF"}},
		{"git+#v6.12", []string{"no URL"}},
	}
	for _, tt := range tests {
		id, err := ParseID(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		err = id.Validate()
		if err == nil {
			t.Fatalf("%s: Validate accepted it", tt.in)
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tt.in, err, w)
			}
		}
	}
}

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"6.12", "6.12.0", 0}, {"6.12.1", "6.12.10", -1}, {"6.13-rc7", "6.13", -1}, {"7.0", "6.99.99", 1}, {"6.13-rc2", "6.13-rc10", -1},
	}
	for _, tt := range tests {
		got, err := compareVersions(tt.a, tt.b)
		if err != nil || got != tt.want {
			t.Errorf("compareVersions(%s, %s) = %d, %v; want %d", tt.a, tt.b, got, err, tt.want)
		}
	}
}

func ExampleParseID() {
	for _, s := range []string{"6.12.117", "../linux", "6.12.117-tarball-x86_64-kce525dbc3", "ghcr.io/o/kernels:6.12", "6.16..6.12"} {
		id, _ := ParseID(s)
		fmt.Printf("%s: %s", s, id.Kind)
		if err := id.Validate(); err != nil {
			fmt.Printf(" (%v)", err)
		}
		fmt.Println()
	}
	// Output:
	// 6.12.117: version
	// ../linux: path
	// 6.12.117-tarball-x86_64-kce525dbc3: cache key
	// ghcr.io/o/kernels:6.12: OCI reference
	// 6.16..6.12: range (inverted kernel range: the start is newer than the end; swap the endpoints: 6.12..6.16)
}
