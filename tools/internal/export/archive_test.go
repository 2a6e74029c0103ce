package export

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr"
)

func writeFile(t *testing.T, path, content string, mode os.FileMode) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return path
}

type tarEntry struct {
	hdr  *tar.Header
	data string
}

func readArchive(t *testing.T, blob []byte) (*gzip.Reader, []tarEntry) {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(blob))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var out []tarEntry
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tarEntry{h, string(b)})
	}
	return gz, out
}

func TestLayoutAndArchive(t *testing.T) {
	dir := t.TempDir()
	bin := writeFile(t, filepath.Join(dir, "bin", "tests.test"), "BINARY", 0o700)
	sched := writeFile(t, filepath.Join(dir, "bpf", "scx_x"), "SCHED", 0o600)
	cfg := writeFile(t, filepath.Join(dir, "bpf", "cfg.json"), "{}", 0o644)
	inc := writeFile(t, filepath.Join(dir, "data", "input.txt"), "INPUT", 0o400)
	m := &ktstr.ExportManifest{
		Test:   "t",
		Binary: bin,
		Scheduler: &ktstr.ExportScheduler{Name: "x", Files: map[string]string{
			"/sched/scx_x": sched, "/sched/conf/cfg.json": cfg,
		}},
	}
	entries, err := Layout(m, []string{inc})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name)
	}
	wantNames := "ktstr sched/conf/cfg.json sched/scx_x include/input.txt"
	if got := strings.Join(names, " "); got != wantNames {
		t.Fatalf("layout %q, want %q", got, wantNames)
	}
	blob, err := BuildArchive(entries)
	if err != nil {
		t.Fatal(err)
	}
	gz, got := readArchive(t, blob)
	if gz.Name != "" || !gz.ModTime.IsZero() || gz.Comment != "" {
		t.Errorf("gzip header leaks metadata: name %q mtime %v comment %q", gz.Name, gz.ModTime, gz.Comment)
	}
	want := []struct {
		name string
		typ  byte
		data string
	}{
		{"ktstr", tar.TypeReg, "BINARY"},
		{"sched/", tar.TypeDir, ""},
		{"sched/conf/", tar.TypeDir, ""},
		{"sched/conf/cfg.json", tar.TypeReg, "{}"},
		{"sched/scx_x", tar.TypeReg, "SCHED"},
		{"include/", tar.TypeDir, ""},
		{"include/input.txt", tar.TypeReg, "INPUT"},
	}
	if len(got) != len(want) {
		t.Fatalf("archive has %d entries, want %d", len(got), len(want))
	}
	for i, w := range want {
		h := got[i].hdr
		if h.Name != w.name || h.Typeflag != w.typ || got[i].data != w.data {
			t.Errorf("entry %d: %s type %c data %q, want %s type %c data %q", i, h.Name, h.Typeflag, got[i].data, w.name, w.typ, w.data)
		}
		if h.Mode != 0o755 {
			t.Errorf("%s: mode %o, want 755", h.Name, h.Mode)
		}
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: owner %d:%d (%q:%q), want 0:0 with no names", h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
		}
		if !h.ModTime.Equal(archiveTime) || !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() || len(h.PAXRecords) > 0 {
			t.Errorf("%s: host metadata leaked: mtime %v atime %v ctime %v pax %v", h.Name, h.ModTime, h.AccessTime, h.ChangeTime, h.PAXRecords)
		}
	}
	// Identical inputs give identical bytes: nothing time- or host-
	// dependent went in.
	again, err := BuildArchive(entries)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(blob, again) {
		t.Error("two builds of the same inputs differ")
	}
}

// TestArchiveExtractsExecutable extracts with the system tar, as the
// script does, and checks what lands on disk.
func TestArchiveExtractsExecutable(t *testing.T) {
	if _, err := exec.LookPath("tar"); err != nil {
		t.Skip("tar not installed")
	}
	dir := t.TempDir()
	inc := writeFile(t, filepath.Join(dir, "in", "notes"), "x", 0o600)
	bin := writeFile(t, filepath.Join(dir, "in", "bin"), "#!/bin/sh\necho ok\n", 0o600)
	// The binary twice (the ktstr command is its own loader): packed once,
	// extracted twice.
	blob, err := BuildArchive([]Entry{{BinaryName, bin}, {IncludePrefix + "notes", inc}, {SchedPrefix + "scxload", bin}})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("tar", "-xzf", "-", "-C", out)
	cmd.Stdin = bytes.NewReader(blob)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, b)
	}
	if n := bytes.Count(gunzip(t, blob), []byte("echo ok")); n != 1 {
		t.Errorf("the binary's bytes are in the archive %d times, want once", n)
	}
	for _, p := range []string{"ktstr", "include", "include/notes", "sched/scxload"} {
		st, err := os.Stat(filepath.Join(out, p))
		if err != nil {
			t.Fatal(err)
		}
		// tar applies the umask unless -p; as root (the script's case) it
		// keeps 0755 exactly, otherwise at least the exec bits survive.
		if os.Geteuid() == 0 && st.Mode().Perm() != 0o755 {
			t.Errorf("%s: extracted mode %v, want 0755", p, st.Mode().Perm())
		}
		if st.Mode().Perm()&0o100 == 0 {
			t.Errorf("%s: extracted mode %v is not executable", p, st.Mode().Perm())
		}
	}
	for _, p := range []string{"ktstr", "sched/scxload"} {
		if b, err := exec.Command(filepath.Join(out, p)).Output(); err != nil || string(b) != "ok\n" {
			t.Errorf("extracted %s did not run: %v %q", p, err, b)
		}
	}
}

func TestLayoutErrors(t *testing.T) {
	dir := t.TempDir()
	bin := writeFile(t, filepath.Join(dir, "bin"), "b", 0o755)
	a := writeFile(t, filepath.Join(dir, "a", "data.txt"), "1", 0o644)
	b := writeFile(t, filepath.Join(dir, "b", "data.txt"), "2", 0o644)
	tests := []struct {
		name     string
		m        *ktstr.ExportManifest
		includes []string
		want     string
	}{
		{"collision", &ktstr.ExportManifest{Test: "t", Binary: bin}, []string{a, b},
			"include-file basename collision: " + a + " and " + b + " both flatten to 'include/data.txt'. Rename one or use distinct paths"},
		{"no binary", &ktstr.ExportManifest{Test: "t"}, nil, "names no test binary"},
		{"sched file outside /sched", &ktstr.ExportManifest{Test: "t", Binary: bin,
			Scheduler: &ktstr.ExportScheduler{Name: "x", Files: map[string]string{"/usr/lib/x.so": a}}}, nil,
			"file /usr/lib/x.so is outside /sched/"},
		{"sched file escaping /sched", &ktstr.ExportManifest{Test: "t", Binary: bin,
			Scheduler: &ktstr.ExportScheduler{Name: "x", Files: map[string]string{"/sched/../etc/x": a}}}, nil,
			"is outside /sched/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Layout(tt.m, tt.includes)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestBuildArchiveRejectsDirectories(t *testing.T) {
	dir := t.TempDir()
	_, err := BuildArchive([]Entry{{Name: SchedPrefix + "cfg", HostPath: dir}})
	if err == nil || !strings.Contains(err.Error(), "is a directory — export packs regular files only") {
		t.Fatalf("error %v, want the directory explanation", err)
	}
	_, err = BuildArchive([]Entry{{Name: BinaryName, HostPath: filepath.Join(dir, "missing")}})
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("error %v, want the missing path", err)
	}
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
