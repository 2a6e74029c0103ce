package kernel

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFindVmlinux(t *testing.T) {
	c := openTestCache(t)
	cached := storeFake(t, c, "6.12.117-tarball-"+HostArch()+"-kc"+KconfigHash(), meta("6.12.117", KconfigHash(), time.Now()), true)

	tree := t.TempDir()
	treeImage := filepath.Join(tree, "arch/x86/boot/bzImage")
	writeBzImage(t, treeImage, "6.12.117 (ktstr@ktstr) #1 SMP")
	copyFixture(t, fakeVmlinux(t), filepath.Join(tree, "vmlinux"))
	lone := filepath.Join(t.TempDir(), "bzImage")
	writeBzImage(t, lone, "6.12.117 (ktstr@ktstr) #1 SMP")
	explicit := filepath.Join(t.TempDir(), "vmlinux-explicit")
	if err := os.WriteFile(explicit, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, vmlinux, kernel string
		want                  string   // "" means an error
		errs                  []string // the error must mention each
	}{
		{"KTSTR_VMLINUX wins", explicit, tree, explicit, nil},
		{"KTSTR_VMLINUX missing", explicit + ".gone", "", "", []string{"KTSTR_VMLINUX=" + explicit + ".gone"}},
		{"cached default kernel", "", "", cached.Vmlinux, nil},
		{"build tree", "", tree, filepath.Join(tree, "vmlinux"), nil},
		{"build tree's image", "", treeImage, filepath.Join(tree, "vmlinux"), nil},
		{"image without vmlinux", "", lone, "", []string{lone, "has no vmlinux", "KTSTR_VMLINUX"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KTSTR_CACHE_DIR", c.Root())
			t.Setenv(EnvVmlinux, tt.vmlinux)
			t.Setenv(EnvKernel, tt.kernel)
			got, err := FindVmlinux(context.Background())
			if tt.want != "" {
				if err != nil || got != tt.want {
					t.Fatalf("FindVmlinux = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("FindVmlinux = %q, want an error", got)
			}
			for _, w := range tt.errs {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
