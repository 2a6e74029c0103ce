package scheds

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/ktstr-go/ktstr/bpfmap"
	"github.com/ktstr-go/ktstr/internal/cachedir"
)

// emBPF is the ELF machine of BPF objects.
const emBPF = elf.Machine(247)

// IsBPFObject reports whether the file is a BPF ELF object (.bpf.o).
func IsBPFObject(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	return f.Machine == emBPF
}

// EmbeddedObjects returns the BPF ELF objects a scheduler binary carries
// inside it: libbpf skeletons (C) and libbpf-rs ones (Rust) embed the
// whole .bpf.o as a byte array. Each is found by its ELF header (64-bit,
// machine BPF) and cut at the end of its section header table, which
// clang writes last.
func EmbeddedObjects(binary []byte) [][]byte {
	var out [][]byte
	magic := []byte("\x7fELF\x02")
	for off := 0; ; {
		i := bytes.Index(binary[off:], magic)
		if i < 0 {
			return out
		}
		start := off + i
		off = start + 1
		if obj := bpfObjectAt(binary, start); obj != nil {
			out = append(out, obj)
			off = start + len(obj)
		}
	}
}

// bpfObjectAt returns the BPF object whose ELF header is at start, or nil.
func bpfObjectAt(b []byte, start int) []byte {
	h := b[start:]
	if len(h) < 64 {
		return nil
	}
	var bo binary.ByteOrder
	switch h[5] {
	case 1:
		bo = binary.LittleEndian
	case 2:
		bo = binary.BigEndian
	default:
		return nil
	}
	if elf.Machine(bo.Uint16(h[18:])) != emBPF {
		return nil
	}
	shoff, shentsize, shnum := bo.Uint64(h[40:]), uint64(bo.Uint16(h[58:])), uint64(bo.Uint16(h[60:]))
	end := shoff + shentsize*shnum
	if shentsize == 0 || end > uint64(len(h)) {
		return nil
	}
	obj := h[:end]
	if _, err := elf.NewFile(bytes.NewReader(obj)); err != nil {
		return nil
	}
	return obj
}

// Objects returns the BPF objects of a scheduler file: the file itself
// if it is a BPF object, else those embedded in the binary, each written
// once to a content-addressed cache file (to load with scxload or read
// with cilium/ebpf). A binary with none returns none.
func Objects(path string) ([]string, error) {
	if IsBPFObject(path) {
		return []string{path}, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	var out []string
	for _, obj := range EmbeddedObjects(b) {
		p, err := cacheObject(obj, filepath.Base(path))
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// cacheObject writes an extracted object once, named by its content.
func cacheObject(obj []byte, from string) (string, error) {
	sum := sha256.Sum256(obj)
	return writeCached(cachedir.Dir("objects"), from+"-"+hex.EncodeToString(sum[:8])+".bpf.o", obj)
}

// OpsName is the sched_ext ops name a BPF object declares: the name
// member of its struct_ops map's value ("" if it declares none).
func OpsName(spec *ebpf.CollectionSpec) string {
	for _, m := range spec.Maps {
		if m.Type != ebpf.StructOpsMap || len(m.Contents) != 1 {
			continue
		}
		st, ok := m.Value.(*btf.Struct)
		data, ok2 := m.Contents[0].Value.([]byte)
		if !ok || !ok2 || st.Name != "sched_ext_ops" {
			continue
		}
		for _, mem := range st.Members {
			if off := int(mem.Offset.Bytes()); mem.Name == "name" && off < len(data) {
				if i := bytes.IndexByte(data[off:], 0); i >= 0 {
					return string(data[off : off+i])
				}
			}
		}
	}
	return ""
}

// objectSpecs loads the collection specs of every scheduler file that is
// or embeds a BPF object.
func objectSpecs(files map[string]string) []*ebpf.CollectionSpec {
	var specs []*ebpf.CollectionSpec
	seen := map[string]bool{}
	for _, hp := range files {
		objs, err := Objects(hp)
		if err != nil {
			continue
		}
		for _, o := range objs {
			if seen[o] {
				continue
			}
			seen[o] = true
			if spec, err := ebpf.LoadCollectionSpec(o); err == nil {
				specs = append(specs, spec)
			}
		}
	}
	return specs
}

// ErrNoObjects means a scheduler's files carry no BPF object to check
// map writes against (e.g. a kernel-builtin scheduler).
var ErrNoObjects = errors.New("no BPF object found in the scheduler's files")

// CheckMapWrites checks, before anything boots, that every write names a
// map (and variable) the scheduler's BPF objects declare. files are the
// scheduler's host files (Invocation.Files). A scheduler whose objects
// cannot be found returns ErrNoObjects: the guest then checks at attach.
func CheckMapWrites(files map[string]string, writes []bpfmap.Write) error {
	if len(writes) == 0 {
		return nil
	}
	specs := objectSpecs(files)
	if len(specs) == 0 {
		return ErrNoObjects
	}
	for _, w := range writes {
		if err := checkWrite(specs, w); err != nil {
			return fmt.Errorf("BPF map write %s: %w", w, err)
		}
	}
	return nil
}

// checkWrite accepts a write that some object's map takes: files may
// hold other schedulers' objects too (Bazel passes every prebuilt one),
// and each has its own .data or .bss, so a map of the write's name that
// lacks the variable rules out only that object.
func checkWrite(specs []*ebpf.CollectionSpec, w bpfmap.Write) error {
	if err := w.Check(); err != nil {
		return err
	}
	var names []string
	var mismatch error
	for _, spec := range specs {
		for name, m := range spec.Maps {
			names = append(names, name)
			if !sameMap(name, w.Map) {
				continue
			}
			if w.Var == "" {
				return nil
			}
			v, ok := spec.Variables[w.Var]
			switch {
			case !ok || v.SectionName != m.Name:
				if mismatch == nil {
					mismatch = fmt.Errorf("map %s has no variable %s", name, w.Var)
				}
			case int(v.Size()) != len(w.Value):
				mismatch = fmt.Errorf("variable %s is %d bytes, the value written has %d", w.Var, v.Size(), len(w.Value))
			default:
				return nil
			}
		}
	}
	if mismatch != nil {
		return mismatch
	}
	sort.Strings(names)
	return fmt.Errorf("the scheduler's BPF objects have no map %q (their maps: %s)", w.Map, strings.Join(names, ", "))
}

// sameMap reports whether a map an object declares (cilium/ebpf's name:
// ".bss", or the C name) is the one a write names (".bss", libbpf's
// "scx_qmap.bss", or the C name, possibly longer than the kernel's 15
// characters).
func sameMap(declared, named string) bool {
	switch {
	case declared == named:
		return true
	case strings.HasPrefix(named, "."):
		return strings.HasSuffix(declared, named)
	case strings.HasPrefix(declared, "."):
		return strings.HasSuffix(named, declared)
	}
	return false
}
