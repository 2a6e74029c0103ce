package kernel

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"go.uber.org/zap"
)

// Media types of the OCI artifact that holds one kernel.
const (
	ArtifactType      = "application/vnd.ktstr.kernel.v1"
	MediaTypeImage    = "application/vnd.ktstr.kernel.image.v1"
	MediaTypeVmlinux  = "application/vnd.ktstr.kernel.vmlinux.v1"
	MediaTypeConfig   = "application/vnd.ktstr.kernel.config.v1"
	MediaTypeMetadata = "application/vnd.ktstr.kernel.metadata.v1+json"
	mediaTypeEmpty    = "application/vnd.oci.empty.v1+json"

	annoTitle      = "org.opencontainers.image.title"
	annoRefName    = "org.opencontainers.image.ref.name"
	annoCreated    = "org.opencontainers.image.created"
	annoPrefix     = "dev.ktstr.kernel."
	annoPulledFrom = annoPrefix + "pulled-from"
)

// Layer titles: the file names a kernel's parts have in an artifact and in
// `ktstr kernel build --out-dir`.
const (
	FileImage    = "bzImage"
	FileVmlinux  = "vmlinux"
	FileConfig   = "config"
	FileMetadata = "metadata.json"
)

var emptyConfig = []byte("{}")

// Cache is the local kernel cache: an OCI image layout directory in which
// every kernel is one artifact tagged with its cache key
// (org.opencontainers.image.ref.name). Blobs are plain files, so QEMU boots
// a cached bzImage straight from blobs/sha256/<hex>.
//
// Writers (Store, Pull, Remove) serialise on a file lock and write blobs
// before the index, each by temp file + rename; readers take no lock and see
// either the old or the new index.
type Cache struct {
	root string
	lg   *zap.Logger
}

// Entry is one kernel in the cache. File fields are absolute blob paths,
// empty when the artifact lacks that part.
type Entry struct {
	Key          string
	Digest       string
	Meta         Metadata
	Image        string
	Vmlinux      string
	Config       string
	MetadataFile string
	Size         int64
	// PulledFrom is the registry reference the entry was pulled from.
	PulledFrom string
	// Corrupt says why the entry must not be used ("" when sound): a
	// missing blob or one whose size or digest does not match.
	Corrupt string
}

// OpenCache opens (creating if needed) the cache at dir, or at
// DefaultCacheDir when dir is empty. lg may be nil.
func OpenCache(dir string, lg *zap.Logger) (*Cache, error) {
	if lg == nil {
		lg = zap.NewNop()
	}
	if dir == "" {
		d, err := DefaultCacheDir()
		if err != nil {
			return nil, fmt.Errorf("finding the kernel cache directory (set KTSTR_CACHE_DIR): %w", err)
		}
		dir = d
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("kernel cache directory %s: %w", dir, err)
	}
	c := &Cache{root: abs, lg: lg}
	if err := os.MkdirAll(c.blobDir(), 0o755); err != nil {
		return nil, fmt.Errorf("creating kernel cache %s: %w", abs, err)
	}
	if _, err := os.Stat(filepath.Join(abs, "oci-layout")); err != nil {
		if err := writeFileAtomic(filepath.Join(abs, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
			return nil, fmt.Errorf("initialising kernel cache %s: %w", abs, err)
		}
	}
	if _, err := os.Stat(c.indexPath()); errors.Is(err, os.ErrNotExist) {
		if err := c.withLock(context.Background(), func() error {
			if _, err := os.Stat(c.indexPath()); err == nil {
				return nil
			}
			return c.writeIndex(&v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex})
		}); err != nil {
			return nil, fmt.Errorf("initialising kernel cache %s: %w", abs, err)
		}
	}
	return c, nil
}

// Root is the cache directory.
func (c *Cache) Root() string { return c.root }

func (c *Cache) blobDir() string   { return filepath.Join(c.root, "blobs", "sha256") }
func (c *Cache) indexPath() string { return filepath.Join(c.root, "index.json") }
func (c *Cache) blobPath(h v1.Hash) string {
	return filepath.Join(c.root, "blobs", h.Algorithm, h.Hex)
}

func (c *Cache) withLock(ctx context.Context, fn func() error) error {
	unlock, err := fileLock(ctx, filepath.Join(c.root, ".ktstr.lock"))
	if err != nil {
		return err
	}
	defer unlock()
	return fn()
}

// lockKey serialises builders of one key across processes, so concurrent
// `go test` runs build a missing kernel once and the others wait for it.
func (c *Cache) lockKey(ctx context.Context, key string) (func(), error) {
	return fileLock(ctx, filepath.Join(c.root, "locks", sanitizeTag(key)+".lock"))
}

func (c *Cache) readIndex() (*v1.IndexManifest, error) {
	f, err := os.Open(c.indexPath())
	if err != nil {
		return nil, fmt.Errorf("reading kernel cache index: %w", err)
	}
	defer f.Close()
	idx, err := v1.ParseIndexManifest(f)
	if err != nil {
		return nil, fmt.Errorf("parsing kernel cache index %s: %w", c.indexPath(), err)
	}
	return idx, nil
}

func (c *Cache) writeIndex(idx *v1.IndexManifest) error {
	data, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(c.indexPath(), data, 0o644)
}

// List returns every kernel in the cache, newest build first, with corrupt
// entries flagged rather than dropped.
func (c *Cache) List() ([]Entry, error) {
	descs, err := c.descriptors()
	if err != nil {
		return nil, err
	}
	entries := make([]Entry, 0, len(descs))
	for _, d := range descs {
		entries = append(entries, c.loadEntry(d))
	}
	return entries, nil
}

// descriptors returns the index's kernel manifests, newest build first.
// The build time is copied into the index descriptor at commit, so
// ordering (and thus resolution, which loads only the entries it tries)
// needs no manifest reads.
func (c *Cache) descriptors() ([]v1.Descriptor, error) {
	idx, err := c.readIndex()
	if err != nil {
		return nil, err
	}
	descs := make([]v1.Descriptor, 0, len(idx.Manifests))
	built := map[string]time.Time{}
	for _, d := range idx.Manifests {
		if d.ArtifactType != "" && d.ArtifactType != ArtifactType {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, d.Annotations[annoPrefix+"built-at"])
		if err != nil {
			t = c.loadEntry(d).Meta.BuiltAt
		}
		built[d.Digest.String()] = t
		descs = append(descs, d)
	}
	sort.SliceStable(descs, func(i, j int) bool {
		return built[descs[i].Digest.String()].After(built[descs[j].Digest.String()])
	})
	return descs, nil
}

// Lookup finds the entry whose key, manifest digest or pulled-from
// reference is s. A missing entry wraps ErrNotFound; a corrupt one is an
// error naming the fix.
func (c *Cache) Lookup(s string) (*Entry, error) {
	descs, err := c.descriptors()
	if err != nil {
		return nil, err
	}
	for _, d := range descs {
		if d.Annotations[annoRefName] != s && d.Digest.String() != s && d.Annotations[annoPulledFrom] != s {
			continue
		}
		e := c.loadEntry(d)
		if e.Corrupt != "" {
			return nil, fmt.Errorf("kernel cache entry %s is corrupt (%s): run `ktstr kernel clean --corrupt-only` and build or pull it again", e.Key, e.Corrupt)
		}
		return &e, nil
	}
	return nil, fmt.Errorf("%w: no cache entry %q in %s", ErrNotFound, s, c.root)
}

// loadEntry reads one manifest and checks its blobs.
func (c *Cache) loadEntry(d v1.Descriptor) Entry {
	e := Entry{Key: d.Annotations[annoRefName], Digest: d.Digest.String()}
	raw, err := os.ReadFile(c.blobPath(d.Digest))
	if err != nil {
		e.Corrupt = "manifest blob missing"
		return e
	}
	if sum := sha256.Sum256(raw); hex.EncodeToString(sum[:]) != d.Digest.Hex {
		e.Corrupt = "manifest blob digest mismatch"
		return e
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		e.Corrupt = "manifest unreadable: " + err.Error()
		return e
	}
	e.Meta = metadataFromAnnotations(m.Annotations)
	if e.Key == "" {
		e.Key = e.Meta.Key
	}
	e.PulledFrom = d.Annotations[annoPulledFrom]
	e.Size = int64(len(raw))
	var problems []string
	for _, l := range m.Layers {
		p := c.blobPath(l.Digest)
		e.Size += l.Size
		if why := c.checkBlob(p, l.Digest, l.Size); why != "" {
			problems = append(problems, fmt.Sprintf("%s %s", l.Annotations[annoTitle], why))
			continue
		}
		switch l.MediaType {
		case MediaTypeImage:
			e.Image = p
		case MediaTypeVmlinux:
			e.Vmlinux = p
		case MediaTypeConfig:
			e.Config = p
		case MediaTypeMetadata:
			e.MetadataFile = p
		}
	}
	if len(problems) == 0 && e.Image == "" {
		problems = append(problems, "no kernel image layer")
	}
	e.Corrupt = strings.Join(problems, "; ")
	return e
}

// checkBlob returns "" when the blob at p has the given size and digest.
// Hashing every blob on every lookup would cost tens of milliseconds per
// kernel, so a verified blob leaves a stamp (size, mtime, inode); a blob
// whose stat still matches its stamp is trusted, anything else is rehashed.
func (c *Cache) checkBlob(p string, h v1.Hash, size int64) string {
	st, err := os.Stat(p)
	if err != nil {
		return "blob missing"
	}
	if st.Size() != size {
		return fmt.Sprintf("blob size %d, manifest says %d", st.Size(), size)
	}
	stamp := blobStamp(st)
	stampPath := filepath.Join(c.root, ".ktstr-verified", h.Hex)
	if old, err := os.ReadFile(stampPath); err == nil && string(old) == stamp {
		return ""
	}
	got, err := hashFile(p)
	if err != nil {
		return "blob unreadable: " + err.Error()
	}
	if got != h.Hex {
		return "blob digest mismatch"
	}
	if err := os.MkdirAll(filepath.Dir(stampPath), 0o755); err == nil {
		_ = writeFileAtomic(stampPath, []byte(stamp), 0o644)
	}
	return ""
}

func blobStamp(st os.FileInfo) string {
	var ino uint64
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		ino = s.Ino
	}
	return strconv.FormatInt(st.Size(), 10) + " " + strconv.FormatInt(st.ModTime().UnixNano(), 10) + " " + strconv.FormatUint(ino, 10)
}

func hashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func metadataAnnotations(m Metadata) map[string]string {
	a := map[string]string{
		annoCreated:                 m.BuiltAt.UTC().Format(time.RFC3339),
		annoPrefix + "key":          m.Key,
		annoPrefix + "version":      m.Version,
		annoPrefix + "source":       string(m.Source),
		annoPrefix + "arch":         m.Arch,
		annoPrefix + "built-at":     m.BuiltAt.UTC().Format(time.RFC3339Nano),
		annoPrefix + "kconfig-hash": m.KconfigHash,
	}
	if m.SourceDetail != "" {
		a[annoPrefix+"source-detail"] = m.SourceDetail
	}
	if len(m.KconfigOmitted) > 0 {
		a[annoPrefix+"kconfig-omitted"] = strings.Join(m.KconfigOmitted, ",")
	}
	if m.BuildSeconds > 0 {
		a[annoPrefix+"build-seconds"] = strconv.FormatFloat(m.BuildSeconds, 'f', 1, 64)
	}
	if m.BuildSteps > 0 {
		a[annoPrefix+"build-steps"] = strconv.Itoa(m.BuildSteps)
	}
	for k, v := range m.Toolchain {
		a[annoPrefix+"toolchain."+k] = v
	}
	if m.KconfigHash == "" {
		delete(a, annoPrefix+"kconfig-hash")
	}
	return a
}

func metadataFromAnnotations(a map[string]string) Metadata {
	m := Metadata{
		Key:          a[annoPrefix+"key"],
		Version:      a[annoPrefix+"version"],
		Source:       SourceKind(a[annoPrefix+"source"]),
		SourceDetail: a[annoPrefix+"source-detail"],
		Arch:         a[annoPrefix+"arch"],
		KconfigHash:  a[annoPrefix+"kconfig-hash"],
	}
	if o := a[annoPrefix+"kconfig-omitted"]; o != "" {
		m.KconfigOmitted = strings.Split(o, ",")
	}
	m.BuiltAt, _ = time.Parse(time.RFC3339Nano, a[annoPrefix+"built-at"])
	m.BuildSeconds, _ = strconv.ParseFloat(a[annoPrefix+"build-seconds"], 64)
	m.BuildSteps, _ = strconv.Atoi(a[annoPrefix+"build-steps"])
	for k, v := range a {
		if t, ok := strings.CutPrefix(k, annoPrefix+"toolchain."); ok {
			if m.Toolchain == nil {
				m.Toolchain = map[string]string{}
			}
			m.Toolchain[t] = v
		}
	}
	return m
}

// sanitizeTag maps s onto the OCI tag alphabet [A-Za-z0-9_.-], max 128.
func sanitizeTag(s string) string {
	b := []byte(s)
	for i, ch := range b {
		ok := ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '_' || ch == '.' || ch == '-'
		if !ok {
			b[i] = '_'
		}
	}
	if len(b) > 128 {
		b = b[:128]
	}
	return string(b)
}
