package kernel

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// inProcessRegistry serves go-containerregistry's registry on loopback.
func inProcessRegistry(t *testing.T) string {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// distributionRegistry starts Debian's docker-registry (the distribution
// reference server) on a free loopback port with storage in a temp dir.
func distributionRegistry(t *testing.T) string {
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Skip("docker-registry not installed (Debian package docker-registry; tools/setup/install-deps.sh)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yml")
	conf := fmt.Sprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), addr)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command(bin, "serve", cfg)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("docker-registry did not come up on %s: %v\n%s", addr, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestPushPullRoundTrip(t *testing.T) {
	for _, reg := range []struct {
		name  string
		start func(*testing.T) string
	}{{"go-containerregistry", inProcessRegistry}, {"docker-registry", distributionRegistry}} {
		t.Run(reg.name, func(t *testing.T) {
			host := reg.start(t)
			ctx := context.Background()
			src := openTestCache(t)
			e := storeFake(t, src, "6.12.117-tarball-x86_64-kc"+KconfigHash(), meta("6.12.117", KconfigHash(), time.Now().UTC().Truncate(time.Second)), true)
			ref := host + "/ktstr/kernels:6.12.117"
			d, err := src.Push(ctx, e.Key, ref, true)
			if err != nil {
				t.Fatal(err)
			}
			if d != e.Digest {
				t.Fatalf("pushed digest %s, entry %s", d, e.Digest)
			}
			dst := openTestCache(t)
			got, err := dst.Pull(ctx, ref, true)
			if err != nil {
				t.Fatal(err)
			}
			if got.Digest != e.Digest || got.Key != e.Key || got.PulledFrom != ref {
				t.Fatalf("pulled %+v, pushed %+v", got, e)
			}
			for _, pair := range [][2]string{{e.Image, got.Image}, {e.Vmlinux, got.Vmlinux}, {e.Config, got.Config}, {e.MetadataFile, got.MetadataFile}} {
				a, _ := os.ReadFile(pair[0])
				b, _ := os.ReadFile(pair[1])
				if len(a) == 0 || !bytes.Equal(a, b) {
					t.Fatalf("%s and %s differ", pair[0], pair[1])
				}
			}
			if !got.Meta.BuiltAt.Equal(e.Meta.BuiltAt) || got.Meta.KconfigHash != KconfigHash() {
				t.Fatalf("metadata lost: %+v", got.Meta)
			}
			// The pulled kernel resolves by key, tag (reference) and digest.
			for _, spec := range []string{e.Key, ref, e.Digest, host + "/ktstr/kernels@" + e.Digest} {
				o := noFallback(dst.Root())
				o.Spec, o.Insecure = spec, true
				k, err := Resolve(ctx, o)
				if err != nil || k.Digest != e.Digest {
					t.Fatalf("Resolve(%s) = %+v, %v", spec, k, err)
				}
			}
			// Resolving an OCI reference pulls it into an empty cache.
			fresh := openTestCache(t)
			o := noFallback(fresh.Root())
			o.Spec, o.Insecure = ref, true
			k, err := Resolve(ctx, o)
			if err != nil || k.Digest != e.Digest || k.Source != "pulled" {
				t.Fatalf("Resolve(%s) on an empty cache = %+v, %v", ref, k, err)
			}
		})
	}
}

func TestPullRejectsNonKernelImages(t *testing.T) {
	host := inProcessRegistry(t)
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref := host + "/not/a-kernel:1"
	r, _ := name.ParseReference(ref)
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	c := openTestCache(t)
	if _, err := c.Pull(context.Background(), ref, true); err == nil || !strings.Contains(err.Error(), "not a ktstr kernel") {
		t.Fatalf("Pull of a plain image: %v", err)
	}
	if entries, _ := c.List(); len(entries) != 0 {
		t.Fatal("rejected pull left an entry")
	}
	if tmp, _ := filepath.Glob(filepath.Join(c.Root(), "blobs/sha256/.tmp-*")); len(tmp) != 0 {
		t.Fatalf("rejected pull left %v", tmp)
	}
}
