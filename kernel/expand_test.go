package kernel

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestExpandRange(t *testing.T) {
	c := openTestCache(t)
	now := time.Now()
	old := meta("6.1.192", KconfigHashFor("6.1.192"), now.Add(-3*time.Hour))
	old.KconfigOmitted = []string{"CONFIG_SCHED_CLASS_EXT"}
	storeFake(t, c, "k61", old, false)
	storeFake(t, c, "k612-stale", meta("6.12.117", "deadbeef", now.Add(-2*time.Hour)), false)
	storeFake(t, c, "k612", meta("6.12.118", KconfigHash(), now.Add(-time.Hour)), false)
	storeFake(t, c, "k612-older-build", meta("6.12.118", KconfigHash(), now.Add(-4*time.Hour)), false)
	storeFake(t, c, "k613", meta("6.13.2", KconfigHash(), now), false)

	reg := inProcessRegistry(t)
	repo := reg + "/kernels"
	for _, tag := range []string{"6.12.119", "6.12.118", "6.14.1", "latest", "6.12.120-tarball-aarch64-kc12345678"} {
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := name.ParseReference(repo + ":" + tag)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		spec, registry string
		want           []string
		wantErr        string
	}{
		{"6.1..6.12.200", "", []string{"k61", "k612"}, ""},
		{"6.12..6.13.2", "", []string{"k612", "k613"}, ""},
		{"6.1..6.12.200", repo, []string{"k61", "k612", repo + ":6.12.119"}, ""},
		{"6.13..6.20", repo, []string{"k613", repo + ":6.14.1"}, ""},
		{"6.13.2..6.1", "", nil, "swap the endpoints: 6.1..6.13.2"},
		{"5.0..5.9", "", nil, "matches no kernel in the kernel cache"},
	}
	for _, tc := range tests {
		id, err := ParseID(tc.spec)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ExpandRange(context.Background(), id, ExpandOptions{CacheDir: c.Root(), Registry: tc.registry})
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: err %v, want %q", tc.spec, err, tc.wantErr)
			}
			continue
		}
		if err != nil || strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%s (registry %q): %v, %v; want %v", tc.spec, tc.registry, got, err, tc.want)
		}
	}
}

func TestListTags(t *testing.T) {
	reg := inProcessRegistry(t)
	img, _ := random.Image(64, 1)
	for _, tag := range []string{"b", "a"} {
		ref, _ := name.ParseReference(reg + "/k:" + tag)
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
	}
	tags, err := ListTags(context.Background(), reg+"/k", false)
	if err != nil || strings.Join(tags, ",") != "a,b" {
		t.Fatalf("tags %v, %v", tags, err)
	}
	if _, err := ListTags(context.Background(), "Not A Repo", false); err == nil || !strings.Contains(err.Error(), "REGISTRY/REPO") {
		t.Fatalf("bad repo: %v", err)
	}
}

func TestSplitList(t *testing.T) {
	got := SplitList(" 6.12.118; old=6.1.192 ,, /boot/a=b ;ghcr.io/o/k:6.1")
	want := []ListEntry{{Spec: "6.12.118"}, {Label: "old", Spec: "6.1.192"}, {Spec: "/boot/a=b"}, {Spec: "ghcr.io/o/k:6.1"}}
	if len(got) != len(want) {
		t.Fatalf("SplitList: %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// fakeBzImage writes a setup header whose kernel_version points at s.
func fakeBzImage(t *testing.T, s string) string {
	t.Helper()
	b := make([]byte, 0x400)
	copy(b[0x202:], "HdrS")
	binary.LittleEndian.PutUint16(b[0x20e:], 0x100) // string at 0x300
	copy(b[0x300:], s+"\x00")
	p := filepath.Join(t.TempDir(), "bzImage")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestImageReleaseAndSchedExt(t *testing.T) {
	img := fakeBzImage(t, "6.1.192 (ktstr@ktstr) #1 SMP PREEMPT_DYNAMIC")
	if v, err := ImageRelease(img); err != nil || v != "6.1.192" {
		t.Fatalf("ImageRelease: %q, %v", v, err)
	}
	notBz := filepath.Join(t.TempDir(), "x")
	os.WriteFile(notBz, make([]byte, 0x400), 0o644)
	if _, err := ImageRelease(notBz); err == nil || !strings.Contains(err.Error(), "not a kernel image") {
		t.Fatalf("not a bzImage: %v", err)
	}
	k := &Kernel{Image: img}
	if k.Label() != "6.1.192" || k.Spec() != img {
		t.Errorf("bare image: label %q spec %q", k.Label(), k.Spec())
	}
	if ok, known, _ := k.SchedExt(); !ok || known {
		t.Errorf("bare image: sched_ext %v known %v, want assumed and unknown", ok, known)
	}
	cfg := filepath.Join(t.TempDir(), "config")
	os.WriteFile(cfg, []byte("# CONFIG_SCHED_CLASS_EXT is not set\n"), 0o644)
	k.Config = cfg
	if ok, known, why := k.SchedExt(); ok || !known || !strings.Contains(why, "does not set CONFIG_SCHED_CLASS_EXT=y") {
		t.Errorf("config without sched_ext: %v %v %q", ok, known, why)
	}
	k = &Kernel{Image: img, Key: "k61", Meta: &Metadata{Version: "6.1.192", KconfigOmitted: []string{"CONFIG_SCHED_CLASS_EXT"}}}
	if ok, _, why := k.SchedExt(); ok || !strings.Contains(why, "kernel 6.1.192 has no sched_ext") {
		t.Errorf("omitted sched_ext: %v %q", ok, why)
	}
	if k.Spec() != "k61" {
		t.Errorf("cached kernel spec %q, want its key", k.Spec())
	}
}

// An exported kernel directory (ktstr kernel build --out-dir, the Bazel
// kernel rules) is labelled and checked from its metadata.json and config.
func TestResolveExportedKernelDir(t *testing.T) {
	img := fakeBzImage(t, "6.1.192 (ktstr@ktstr) #1")
	dir := filepath.Dir(img)
	os.WriteFile(filepath.Join(dir, FileConfig), []byte("CONFIG_BPF=y\n"), 0o644)
	os.WriteFile(filepath.Join(dir, FileMetadata), []byte(`{"version":"6.1.192","kconfig_omitted":["CONFIG_SCHED_CLASS_EXT"]}`), 0o644)
	o := noFallback(t.TempDir())
	o.Spec = img
	k, err := Resolve(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if k.Label() != "6.1.192" || k.Config == "" || k.Meta == nil {
		t.Fatalf("exported kernel: label %q config %q meta %v", k.Label(), k.Config, k.Meta)
	}
	if ok, known, why := k.SchedExt(); ok || !known || !strings.Contains(why, "predates") {
		t.Fatalf("exported 6.1 sched_ext: %v %v %q", ok, known, why)
	}
}
