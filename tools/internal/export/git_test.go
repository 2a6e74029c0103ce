package export

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const (
	idA = "0123456789abcdef0123456789abcdef01234567"
	idB = "89abcdef0123456789abcdef0123456789abcdef"
)

func TestHeadCommit(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string // relative to the repo root
		sub   string            // directory to start from
		want  string            // "" means an error
	}{
		{"detached", map[string]string{".git/HEAD": idA + "\n"}, "", idA},
		{"loose ref", map[string]string{".git/HEAD": "ref: refs/heads/main\n", ".git/refs/heads/main": idB + "\n"}, "deep/er", idB},
		{"packed ref", map[string]string{
			".git/HEAD":        "ref: refs/heads/main\n",
			".git/packed-refs": "# pack-refs with: peeled fully-peeled sorted\n" + idA + " refs/heads/other\n" + idB + " refs/heads/main\n^" + idA + "\n",
		}, "", idB},
		{"loose wins over packed", map[string]string{
			".git/HEAD":            "ref: refs/heads/main\n",
			".git/refs/heads/main": idA,
			".git/packed-refs":     idB + " refs/heads/main\n",
		}, "", idA},
		{"worktree link", map[string]string{
			"wt/.git":                           "gitdir: ../main/.git/worktrees/wt\n",
			"main/.git/worktrees/wt/HEAD":       "ref: refs/heads/feature\n",
			"main/.git/worktrees/wt/commondir":  "../..\n",
			"main/.git/refs/heads/feature":      idB + "\n",
			"main/.git/worktrees/wt/refs/.keep": "",
			"main/.git/HEAD":                    "ref: refs/heads/main\n",
		}, "wt", idB},
		{"unborn branch", map[string]string{".git/HEAD": "ref: refs/heads/main\n"}, "", ""},
		{"garbage HEAD", map[string]string{".git/HEAD": "nonsense\n"}, "", ""},
		{"no repo", map[string]string{"file": "x"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for p, c := range tt.files {
				writeFile(t, filepath.Join(root, p), c, 0o644)
			}
			start := filepath.Join(root, tt.sub)
			if err := os.MkdirAll(start, 0o755); err != nil {
				t.Fatal(err)
			}
			got, err := HeadCommit(start)
			if tt.want == "" {
				if err == nil && !strings.HasPrefix(root, "/") {
					t.Fatalf("got %s, want an error", got)
				}
				if err == nil {
					// A repo above the temp dir would be found; that is
					// not this case's fixture.
					t.Skipf("a git checkout encloses %s", root)
				}
				if p := Provenance(start); p != "unknown" {
					t.Errorf("Provenance = %q, want unknown", p)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("HeadCommit = %s, want %s", got, tt.want)
			}
			if p := Provenance(start); p != tt.want[:7] {
				t.Errorf("Provenance = %s, want %s", p, tt.want[:7])
			}
		})
	}
}

// TestHeadCommitMatchesGit compares with git itself on this checkout.
func TestHeadCommitMatchesGit(t *testing.T) {
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git not installed")
	}
	out, err := exec.Command(gitBin, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skip("not inside a git checkout with commits")
	}
	got, err := HeadCommit(".")
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSpace(string(out)); got != want {
		t.Errorf("HeadCommit = %s, git rev-parse HEAD = %s", got, want)
	}
}
