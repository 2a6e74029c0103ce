package kernel

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"go.uber.org/zap"
)

// Files names the parts of a kernel to store. Vmlinux and Config may be
// empty.
type Files struct {
	Image   string
	Vmlinux string
	Config  string
}

// stagedBlob is a blob written to a temp file in the blob directory,
// renamed to its digest name only when the entry is committed.
type stagedBlob struct {
	tmp  string
	desc v1.Descriptor
}

func (c *Cache) stageReader(r io.Reader, mediaType types.MediaType, title string) (stagedBlob, error) {
	f, err := os.CreateTemp(c.blobDir(), ".tmp-blob-*")
	if err != nil {
		return stagedBlob{}, fmt.Errorf("staging blob: %w", err)
	}
	// CreateTemp makes 0600 files; blobs are read by QEMU and Bazel,
	// possibly as another user.
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(f.Name())
		return stagedBlob{}, fmt.Errorf("staging blob: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return stagedBlob{}, fmt.Errorf("staging blob %s: %w", title, err)
	}
	d := v1.Descriptor{MediaType: mediaType, Size: n, Digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}}
	if title != "" {
		d.Annotations = map[string]string{annoTitle: title}
	}
	return stagedBlob{tmp: f.Name(), desc: d}, nil
}

func (c *Cache) stageFile(path string, mediaType types.MediaType, title string) (stagedBlob, error) {
	f, err := os.Open(path)
	if err != nil {
		return stagedBlob{}, err
	}
	defer f.Close()
	return c.stageReader(f, mediaType, title)
}

func discard(staged []stagedBlob) {
	for _, s := range staged {
		os.Remove(s.tmp)
	}
}

// Store puts a kernel into the cache under key, replacing any entry with
// that key. meta.Key is set to key. The entry appears all at once: blobs are
// staged first, then renamed and indexed under the cache lock.
func (c *Cache) Store(ctx context.Context, key string, files Files, meta Metadata) (*Entry, error) {
	if key == "" || sanitizeTag(key) != key {
		return nil, fmt.Errorf("invalid cache key %q: use letters, digits, '.', '_' and '-' only", key)
	}
	meta.Key = key
	if meta.BuiltAt.IsZero() {
		meta.BuiltAt = time.Now().UTC()
	}
	metaJSON, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return nil, err
	}
	var staged []stagedBlob
	add := func(path string, mt types.MediaType, title string) error {
		if path == "" {
			return nil
		}
		s, err := c.stageFile(path, mt, title)
		if err != nil {
			return fmt.Errorf("storing %s in the kernel cache: %w", title, err)
		}
		staged = append(staged, s)
		return nil
	}
	if files.Image == "" {
		return nil, fmt.Errorf("storing kernel %s: no image file given", key)
	}
	for _, p := range []struct {
		path  string
		mt    types.MediaType
		title string
	}{{files.Image, MediaTypeImage, FileImage}, {files.Vmlinux, MediaTypeVmlinux, FileVmlinux}, {files.Config, MediaTypeConfig, FileConfig}} {
		if err := add(p.path, p.mt, p.title); err != nil {
			discard(staged)
			return nil, err
		}
	}
	ms, err := c.stageReader(strings.NewReader(string(metaJSON)), MediaTypeMetadata, FileMetadata)
	if err != nil {
		discard(staged)
		return nil, err
	}
	staged = append(staged, ms)
	cfg, err := c.stageReader(strings.NewReader(string(emptyConfig)), mediaTypeEmpty, "")
	if err != nil {
		discard(staged)
		return nil, err
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  ArtifactType,
		Config: v1.Descriptor{
			MediaType: mediaTypeEmpty, Size: cfg.desc.Size, Digest: cfg.desc.Digest, Data: emptyConfig,
		},
		Annotations: metadataAnnotations(meta),
	}
	for _, s := range staged {
		m.Layers = append(m.Layers, s.desc)
	}
	staged = append(staged, cfg)
	raw, err := json.Marshal(m)
	if err != nil {
		discard(staged)
		return nil, err
	}
	return c.commit(ctx, key, raw, staged, nil)
}

// commit renames staged blobs into place, writes the manifest blob and
// points key at it in the index, all under the cache lock so a concurrent
// garbage collection cannot delete blobs of an entry being added.
func (c *Cache) commit(ctx context.Context, key string, manifest []byte, staged []stagedBlob, descAnno map[string]string) (*Entry, error) {
	defer discard(staged)
	sum := sha256.Sum256(manifest)
	mdesc := v1.Descriptor{
		MediaType:    types.OCIManifestSchema1,
		Size:         int64(len(manifest)),
		Digest:       v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])},
		ArtifactType: ArtifactType,
		Annotations:  map[string]string{annoRefName: key},
	}
	for k, v := range descAnno {
		mdesc.Annotations[k] = v
	}
	var parsed v1.Manifest
	if err := json.Unmarshal(manifest, &parsed); err == nil {
		if t := parsed.Annotations[annoPrefix+"built-at"]; t != "" {
			mdesc.Annotations[annoPrefix+"built-at"] = t
		}
	}
	err := c.withLock(ctx, func() error {
		for _, s := range staged {
			final := c.blobPath(s.desc.Digest)
			if err := os.Rename(s.tmp, final); err != nil {
				return fmt.Errorf("committing blob %s: %w", s.desc.Digest, err)
			}
			if st, err := os.Stat(final); err == nil {
				c.stamp(s.desc.Digest, st)
			}
		}
		if err := writeFileAtomic(c.blobPath(mdesc.Digest), manifest, 0o644); err != nil {
			return fmt.Errorf("writing manifest: %w", err)
		}
		idx, err := c.readIndex()
		if err != nil {
			return err
		}
		kept := idx.Manifests[:0]
		for _, d := range idx.Manifests {
			if d.Annotations[annoRefName] != key {
				kept = append(kept, d)
			}
		}
		idx.Manifests = append(kept, mdesc)
		if err := c.writeIndex(idx); err != nil {
			return fmt.Errorf("writing kernel cache index: %w", err)
		}
		return c.gc()
	})
	if err != nil {
		return nil, err
	}
	c.lg.Info("kernel cached", zap.String("key", key), zap.String("digest", mdesc.Digest.String()), zap.String("cache", c.root))
	return c.Lookup(key)
}

func (c *Cache) stamp(h v1.Hash, st os.FileInfo) {
	p := filepath.Join(c.root, ".ktstr-verified", h.Hex)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
		_ = writeFileAtomic(p, []byte(blobStamp(st)), 0o644)
	}
}

// Remove deletes the entries with the given manifest digests and then the
// blobs no entry references.
func (c *Cache) Remove(ctx context.Context, digests ...string) error {
	drop := map[string]bool{}
	for _, d := range digests {
		drop[d] = true
	}
	return c.withLock(ctx, func() error {
		idx, err := c.readIndex()
		if err != nil {
			return err
		}
		kept := idx.Manifests[:0]
		for _, d := range idx.Manifests {
			if !drop[d.Digest.String()] {
				kept = append(kept, d)
			}
		}
		idx.Manifests = kept
		if err := c.writeIndex(idx); err != nil {
			return err
		}
		return c.gc()
	})
}

// CleanOptions say which cached kernels Clean removes. Corrupt entries
// are always removed; sound ones as the fields say.
type CleanOptions struct {
	// Keep keeps the Keep newest sound kernels whatever else applies.
	Keep int
	// CorruptOnly keeps every sound kernel.
	CorruptOnly bool
	// OlderThan, when positive, keeps sound kernels built more recently.
	OlderThan time.Duration
	// Now is the time OlderThan counts back from; zero means time.Now.
	Now time.Time
}

// PlanClean splits the cache into the entries Clean(opts) would remove and
// those it would keep, both newest first, removing nothing: what a
// dry run or a confirmation prompt shows.
func (c *Cache) PlanClean(opts CleanOptions) (remove, keep []Entry, err error) {
	entries, err := c.List()
	if err != nil {
		return nil, nil, err
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	sound := 0
	for _, e := range entries {
		if e.Corrupt == "" {
			sound++
			young := opts.OlderThan > 0 && now.Sub(e.Meta.BuiltAt) < opts.OlderThan
			if opts.CorruptOnly || sound <= opts.Keep || young {
				keep = append(keep, e)
				continue
			}
		}
		remove = append(remove, e)
	}
	return remove, keep, nil
}

// Clean removes what PlanClean(opts) plans to and returns it.
func (c *Cache) Clean(ctx context.Context, opts CleanOptions) ([]Entry, error) {
	remove, _, err := c.PlanClean(opts)
	if err != nil || len(remove) == 0 {
		return nil, err
	}
	digests := make([]string, len(remove))
	for i, e := range remove {
		digests[i] = e.Digest
	}
	return remove, c.Remove(ctx, digests...)
}

// gc deletes blobs and verification stamps that no indexed manifest
// references. Callers hold the cache lock. Staging files of a writer that
// died are removed after a day; younger ones may belong to a live writer.
func (c *Cache) gc() error {
	idx, err := c.readIndex()
	if err != nil {
		return err
	}
	live := map[string]bool{}
	for _, d := range idx.Manifests {
		live[d.Digest.Hex] = true
		raw, err := os.ReadFile(c.blobPath(d.Digest))
		if err != nil {
			continue
		}
		var m v1.Manifest
		if json.Unmarshal(raw, &m) != nil {
			continue
		}
		live[m.Config.Digest.Hex] = true
		for _, l := range m.Layers {
			live[l.Digest.Hex] = true
		}
	}
	for _, dir := range []string{c.blobDir(), filepath.Join(c.root, ".ktstr-verified")} {
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, de := range ents {
			name := de.Name()
			if strings.HasPrefix(name, ".tmp-") {
				if info, err := de.Info(); err == nil && time.Since(info.ModTime()) > 24*time.Hour {
					os.Remove(filepath.Join(dir, name))
				}
				continue
			}
			if !live[name] {
				if err := os.Remove(filepath.Join(dir, name)); err != nil && !os.IsNotExist(err) {
					return fmt.Errorf("removing unreferenced blob: %w", err)
				}
			}
		}
	}
	return nil
}
