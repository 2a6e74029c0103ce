package kernel

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"go.uber.org/zap"
)

func parseRef(ref string, insecure bool) (name.Reference, error) {
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("bad registry reference %q (want host/repo:tag or host/repo@sha256:...): %w", ref, err)
	}
	return r, nil
}

func remoteOpts(ctx context.Context) []remote.Option {
	// DefaultKeychain reads ~/.docker/config.json (and DOCKER_CONFIG), the
	// same credentials docker, crane and podman use.
	return []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}
}

// Push uploads the cache entry key (a key, digest or pulled reference) to
// ref and returns the manifest digest the registry now serves. Plain HTTP
// is used only with insecure (and, as in every go-containerregistry tool,
// for localhost).
func (c *Cache) Push(ctx context.Context, key, ref string, insecure bool) (string, error) {
	e, err := c.Lookup(key)
	if err != nil {
		return "", err
	}
	r, err := parseRef(ref, insecure)
	if err != nil {
		return "", err
	}
	h, err := v1.NewHash(e.Digest)
	if err != nil {
		return "", err
	}
	img, err := layout.Path(c.root).Image(h)
	if err != nil {
		return "", fmt.Errorf("reading cache entry %s: %w", e.Key, err)
	}
	if err := remote.Write(r, img, remoteOpts(ctx)...); err != nil {
		return "", fmt.Errorf("pushing %s to %s: %w", e.Key, ref, err)
	}
	desc, err := remote.Head(r, remoteOpts(ctx)...)
	if err != nil {
		return "", fmt.Errorf("checking pushed %s: %w", ref, err)
	}
	if desc.Digest.String() != e.Digest {
		return "", fmt.Errorf("registry serves %s as %s, but the cache entry is %s", ref, desc.Digest, e.Digest)
	}
	c.lg.Info("kernel pushed", zap.String("key", e.Key), zap.String("ref", ref), zap.String("digest", e.Digest))
	return e.Digest, nil
}

// Pull downloads a kernel artifact into the cache, checking every blob's
// digest, and returns its entry. The entry is keyed by the key recorded in
// the artifact and also found by ref and by digest.
func (c *Cache) Pull(ctx context.Context, ref string, insecure bool) (*Entry, error) {
	r, err := parseRef(ref, insecure)
	if err != nil {
		return nil, err
	}
	desc, err := remote.Get(r, remoteOpts(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("pulling %s: %w", ref, err)
	}
	sum := sha256.Sum256(desc.Manifest)
	if got := "sha256:" + hex.EncodeToString(sum[:]); got != desc.Digest.String() {
		return nil, fmt.Errorf("pulling %s: manifest digest %s, registry said %s", ref, got, desc.Digest)
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, fmt.Errorf("pulling %s: %w", ref, err)
	}
	if m.ArtifactType != ArtifactType {
		return nil, fmt.Errorf("%s is not a ktstr kernel (artifactType %q, want %q): push kernels with `ktstr kernel push`", ref, m.ArtifactType, ArtifactType)
	}
	img, err := desc.Image()
	if err != nil {
		return nil, fmt.Errorf("pulling %s: %w", ref, err)
	}
	var staged []stagedBlob
	fail := func(err error) (*Entry, error) {
		discard(staged)
		return nil, fmt.Errorf("pulling %s: %w", ref, err)
	}
	for _, ld := range m.Layers {
		l, err := img.LayerByDigest(ld.Digest)
		if err != nil {
			return fail(err)
		}
		rc, err := l.Compressed()
		if err != nil {
			return fail(err)
		}
		s, err := c.stageReader(rc, ld.MediaType, ld.Annotations[annoTitle])
		rc.Close()
		if err != nil {
			return fail(err)
		}
		staged = append(staged, s)
		if s.desc.Digest != ld.Digest || s.desc.Size != ld.Size {
			return fail(fmt.Errorf("blob %s arrived as %s (%d bytes, want %d)", ld.Digest, s.desc.Digest, s.desc.Size, ld.Size))
		}
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return fail(err)
	}
	cs, err := c.stageReader(bytes.NewReader(cfg), m.Config.MediaType, "")
	if err != nil {
		return fail(err)
	}
	staged = append(staged, cs)
	if cs.desc.Digest != m.Config.Digest {
		return fail(fmt.Errorf("config blob digest %s, manifest says %s", cs.desc.Digest, m.Config.Digest))
	}
	key := m.Annotations[annoPrefix+"key"]
	if key == "" || sanitizeTag(key) != key {
		key = sanitizeTag(r.Identifier())
	}
	e, err := c.commit(ctx, key, desc.Manifest, staged, map[string]string{annoPulledFrom: ref})
	if err != nil {
		return nil, fmt.Errorf("pulling %s: %w", ref, err)
	}
	return e, nil
}
