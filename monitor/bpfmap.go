package monitor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// Bounds on what one snapshot reads of BPF maps.
const (
	maxMaps       = 64
	maxMapEntries = 64
	// maxArrayScan bounds the entries of an array scanned for non-zero
	// values.
	maxArrayScan   = 4096
	maxHashBuckets = 1 << 16
	maxBTFBytes    = 16 << 20
	maxValueBytes  = 64 << 10
	// Maps with at most this many entries show every one; larger ones
	// show only entries that are not all zeros.
	showAllEntries = 8
	// maxArenaPages bounds the pages of an arena checked for a mapping.
	maxArenaPages = 1024
	// arenaGuard is half of an arena's guard (GUARD_SZ/2 in
	// kernel/bpf/arena.c): the kernel mapping starts that far into its
	// vm_struct.
	arenaGuard = 1 << 15
)

// harnessMapPrefix names the maps of the harness's own probes (package
// probe), which snapshots list without their entries.
const harnessMapPrefix = "ktstr_probe"

// BPFMap is one BPF map in the guest kernel with its entries, keys and
// values decoded by the map's own BTF (read from guest memory).
type BPFMap struct {
	ID   uint32 `json:"id"`
	Name string `json:"name"`
	// Type is the kernel's name for it: BPF_MAP_TYPE_ARRAY, ...
	Type       string     `json:"type"`
	KeySize    uint32     `json:"key_size"`
	ValueSize  uint32     `json:"value_size"`
	MaxEntries uint32     `json:"max_entries"`
	Flags      uint32     `json:"flags,omitempty"`
	Entries    []MapEntry `json:"entries,omitempty"`
	Arena      *Arena     `json:"arena,omitempty"`
	// Note says what was not read and why.
	Note string `json:"note,omitempty"`
}

// MapEntry is one key and its value; a per-CPU map has one value per
// CPU instead, in CPU order.
type MapEntry struct {
	Key    any   `json:"key"`
	Value  any   `json:"value,omitempty"`
	PerCPU []any `json:"per_cpu,omitempty"`
}

// Arena is where a BPF arena map's memory lives and how much of it is
// mapped.
type Arena struct {
	UserStart uint64 `json:"user_vm_start"`
	UserEnd   uint64 `json:"user_vm_end"`
	KernStart uint64 `json:"kern_vm_start"`
	// MappedPages counts the pages mapped among the first CheckedPages.
	MappedPages  int `json:"mapped_pages"`
	CheckedPages int `json:"checked_pages"`
}

// BPFProg is one loaded BPF program.
type BPFProg struct {
	ID   uint32 `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
	// Addr and JitedLen place its JIT-compiled code.
	Addr     uint64 `json:"addr"`
	JitedLen uint32 `json:"jited_len"`
	// RunCount and RunNs are its run statistics, summed over CPUs: the
	// kernel keeps them only while kernel.bpf_stats_enabled is 1.
	RunCount uint64 `json:"run_count,omitempty"`
	RunNs    uint64 `json:"run_ns,omitempty"`
}

// bpfReader reads the BPF objects of one guest for snapshots; its BTF
// cache outlives a snapshot (BTF objects are immutable while their ID
// stands).
type bpfReader struct {
	m      *kmem
	l      *bpfLayout
	s      *symbols
	percpu []uint64 // __per_cpu_offset of every CPU
	btfs   map[uint32]*btf.Spec
}

// maps lists every map in map_idr with its entries.
func (r *bpfReader) maps() ([]BPFMap, error) {
	var out []BPFMap
	err := r.m.idrEntries(r.s.mapIDR, r.l, maxMaps, func(p uint64) error {
		out = append(out, r.readMap(p))
		return nil
	})
	if errors.Is(err, errTooManyEntries) {
		err = fmt.Errorf("more than %d BPF maps: the rest are not shown", maxMaps)
	}
	return out, err
}

// readMap reads the struct bpf_map at p and what its type lets a
// snapshot decode.
func (r *bpfReader) readMap(p uint64) BPFMap {
	b, err := r.m.bytes(p, r.l.mapSpan)
	if err != nil {
		return BPFMap{Note: fmt.Sprintf("struct bpf_map at %#x: %v", p, err)}
	}
	l := r.l
	m := BPFMap{
		ID: uint32(le(b, l.mapID)), Name: cstr(b[l.mapName.off : l.mapName.off+l.mapName.size]),
		Type:    enumName(l.mapTypes, le(b, l.mapType)),
		KeySize: uint32(le(b, l.keySize)), ValueSize: uint32(le(b, l.valueSize)),
		MaxEntries: uint32(le(b, l.maxEntries)), Flags: uint32(le(b, l.mapFlags)),
	}
	if strings.HasPrefix(m.Name, harnessMapPrefix) {
		m.Note = "the harness's own (probes): entries not read"
		return m
	}
	if m.Type == "BPF_MAP_TYPE_ARENA" {
		m.Arena, err = r.arena(b)
		if err != nil {
			m.Note = err.Error()
		}
		return m
	}
	if m.ValueSize > maxValueBytes || m.KeySize > maxValueBytes {
		m.Note = fmt.Sprintf("entries not read: keys or values over %d bytes", maxValueBytes)
		return m
	}
	var dec entryDecoder
	switch m.Type {
	case "BPF_MAP_TYPE_ARRAY", "BPF_MAP_TYPE_PERCPU_ARRAY":
		dec = r.decoder(b)
		err = r.arrayEntries(p, b, &m, dec)
	case "BPF_MAP_TYPE_HASH", "BPF_MAP_TYPE_PERCPU_HASH", "BPF_MAP_TYPE_LRU_HASH", "BPF_MAP_TYPE_LRU_PERCPU_HASH":
		dec = r.decoder(b)
		err = r.hashEntries(b, &m, dec)
	default:
		err = fmt.Errorf("entries of %s maps are not read", m.Type)
	}
	if err != nil {
		m.Note = joinNote(m.Note, err.Error())
	}
	if dec.note != "" {
		m.Note = joinNote(m.Note, dec.note)
	}
	return m
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// entryDecoder decodes a map's keys and values with its BTF, or shows
// raw bytes (and says why) when it has none.
type entryDecoder struct {
	key, value btf.Type
	note       string
}

func (d entryDecoder) decode(t btf.Type, b []byte) any {
	if t == nil {
		return Bytes(b)
	}
	return decodeBTF(t, b)
}

// decoder finds the map's key and value types in its BTF.
func (r *bpfReader) decoder(mapBytes []byte) entryDecoder {
	l := r.l
	bp := le(mapBytes, l.mapBTF)
	kid, vid := le(mapBytes, l.btfKeyID), le(mapBytes, l.btfValueID)
	if bp == 0 || vid == 0 {
		return entryDecoder{note: "no BTF for its values: shown as bytes"}
	}
	spec, err := r.spec(bp)
	if err != nil {
		return entryDecoder{note: fmt.Sprintf("its BTF: %v: values shown as bytes", err)}
	}
	var d entryDecoder
	if kid != 0 {
		d.key, _ = spec.TypeByID(btf.TypeID(kid))
	}
	if d.value, err = spec.TypeByID(btf.TypeID(vid)); err != nil {
		d.note = fmt.Sprintf("value type %d: %v: values shown as bytes", vid, err)
	}
	return d
}

// spec parses the struct btf at p: its data is the raw BTF blob the
// loader handed the kernel.
func (r *bpfReader) spec(p uint64) (*btf.Spec, error) {
	b, err := r.m.bytes(p, r.l.btfSpan)
	if err != nil {
		return nil, err
	}
	id := uint32(le(b, r.l.btfID))
	if s, ok := r.btfs[id]; ok {
		return s, nil
	}
	size := le(b, r.l.btfDataSize)
	if size == 0 || size > maxBTFBytes {
		return nil, fmt.Errorf("BTF object %d has %d bytes of data", id, size)
	}
	data, err := r.m.bytes(le(b, r.l.btfData), uint32(size))
	if err != nil {
		return nil, fmt.Errorf("BTF object %d: %w", id, err)
	}
	s, err := btf.LoadSpecFromReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("parsing BTF object %d: %w", id, err)
	}
	r.btfs[id] = s
	return s, nil
}

// arrayEntries reads a struct bpf_array's values: inline, elem_size
// apart, or for a per-CPU array one per-CPU pointer per entry.
func (r *bpfReader) arrayEntries(p uint64, b []byte, m *BPFMap, dec entryDecoder) error {
	perCPU := m.Type == "BPF_MAP_TYPE_PERCPU_ARRAY"
	elem := le(b, r.l.arrElemSize)
	if perCPU {
		elem = 8
	}
	n := min(m.MaxEntries, maxArrayScan)
	base := p + uint64(r.l.arrValue)
	skipped := 0
	for i := range n {
		if len(m.Entries) == maxMapEntries {
			return fmt.Errorf("only the first %d entries shown", maxMapEntries)
		}
		key := binary.LittleEndian.AppendUint32(nil, i)
		e, zero, err := r.entry(base+uint64(i)*elem, perCPU, key, m.ValueSize, dec)
		if err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
		if dec.key == nil {
			e.Key = uint64(i) // an array's key is its index, BTF or not
		}
		if zero && n > showAllEntries {
			skipped++
			continue
		}
		m.Entries = append(m.Entries, e)
	}
	var notes []string
	if skipped > 0 {
		notes = append(notes, fmt.Sprintf("%d entries of all zeros not shown", skipped))
	}
	if n < m.MaxEntries {
		notes = append(notes, fmt.Sprintf("entries past %d not read", n))
	}
	if len(notes) > 0 {
		return errors.New(strings.Join(notes, "; "))
	}
	return nil
}

// entry reads one value at kernel address at (per-CPU: a per-CPU
// pointer stored there) and decodes it with key. zero reports a value of
// all zero bytes on every CPU.
func (r *bpfReader) entry(at uint64, perCPU bool, key []byte, size uint32, dec entryDecoder) (MapEntry, bool, error) {
	e := MapEntry{Key: dec.decode(dec.key, key)}
	if !perCPU {
		v, err := r.m.bytes(at, size)
		if err != nil {
			return e, false, err
		}
		e.Value = dec.decode(dec.value, v)
		return e, allZero(v), nil
	}
	pp, err := r.m.u64(at)
	if err != nil {
		return e, false, err
	}
	zero := true
	for _, off := range r.percpu {
		v, err := r.m.bytes(pp+off, size)
		if err != nil {
			return e, false, fmt.Errorf("per-CPU value: %w", err)
		}
		zero = zero && allZero(v)
		e.PerCPU = append(e.PerCPU, dec.decode(dec.value, v))
	}
	return e, zero, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// hashEntries walks a struct bpf_htab: n_buckets buckets, each an
// hlist_nulls of struct htab_elem (the link first, the key at
// htab_elem.key, the value, or a per-CPU pointer, 8-byte aligned after
// it), ended by an odd "nulls" marker.
func (r *bpfReader) hashEntries(b []byte, m *BPFMap, dec entryDecoder) error {
	perCPU := strings.Contains(m.Type, "PERCPU")
	buckets, n := le(b, r.l.htabBuckets), le(b, r.l.htabNBuckets)
	if n > maxHashBuckets {
		return fmt.Errorf("%d buckets: only hash maps up to %d buckets are read", n, maxHashBuckets)
	}
	bs := uint64(r.l.bucketSize)
	keyOff := uint64(r.l.elemKey)
	valOff := keyOff + (uint64(m.KeySize)+7)&^7
	for i := range n {
		e, err := r.m.u64(buckets + i*bs)
		if err != nil {
			return fmt.Errorf("bucket %d: %w", i, err)
		}
		for steps := 0; e != 0 && e&1 == 0; steps++ {
			if len(m.Entries) == maxMapEntries {
				return fmt.Errorf("only the first %d entries shown", maxMapEntries)
			}
			if steps > int(m.MaxEntries)+1 {
				return fmt.Errorf("bucket %d: chain longer than the map: it changed under the read", i)
			}
			key, err := r.m.bytes(e+keyOff, m.KeySize)
			if err != nil {
				return fmt.Errorf("bucket %d: %w", i, err)
			}
			ent, _, err := r.entry(e+valOff, perCPU, key, m.ValueSize, dec)
			if err != nil {
				return fmt.Errorf("bucket %d: %w", i, err)
			}
			m.Entries = append(m.Entries, ent)
			if e, err = r.m.u64(e); err != nil {
				return fmt.Errorf("bucket %d: %w", i, err)
			}
		}
	}
	return nil
}

// arena reads where an arena's memory is and counts its mapped pages
// (the kernel maps them on first touch) among the first maxArenaPages.
func (r *bpfReader) arena(b []byte) (*Arena, error) {
	if !r.l.arenaOK {
		return nil, errors.New("arena not read: the kernel's BTF lacks struct bpf_arena's fields")
	}
	a := &Arena{UserStart: le(b, r.l.arenaUserStart), UserEnd: le(b, r.l.arenaUserEnd)}
	vm := le(b, r.l.arenaKernVM)
	addr, err := r.m.u64(vm + uint64(r.l.vmAddr.off))
	if err != nil {
		return a, fmt.Errorf("arena's vm_struct: %w", err)
	}
	a.KernStart = addr + arenaGuard
	pages := min((a.UserEnd-a.UserStart)/pageSize, maxArenaPages)
	for i := range pages {
		if _, err := r.m.phys(a.KernStart + i*pageSize); err == nil {
			a.MappedPages++
		}
	}
	a.CheckedPages = int(pages)
	return a, nil
}

// progs lists every program in prog_idr.
func (r *bpfReader) progs() ([]BPFProg, error) {
	var out []BPFProg
	err := r.m.idrEntries(r.s.progIDR, r.l, 4*maxMaps, func(p uint64) error {
		pr, err := r.readProg(p)
		if err != nil {
			return err
		}
		out = append(out, pr)
		return nil
	})
	return out, err
}

func (r *bpfReader) readProg(p uint64) (BPFProg, error) {
	l := r.l
	b, err := r.m.bytes(p, l.progSpan)
	if err != nil {
		return BPFProg{}, fmt.Errorf("struct bpf_prog at %#x: %w", p, err)
	}
	aux, err := r.m.bytes(le(b, l.progAux), l.auxSpan)
	if err != nil {
		return BPFProg{}, fmt.Errorf("bpf_prog_aux of %#x: %w", p, err)
	}
	pr := BPFProg{
		ID: uint32(le(aux, l.auxID)), Name: cstr(aux[l.auxName.off : l.auxName.off+l.auxName.size]),
		Type: enumName(l.progTypes, le(b, l.progType)), Addr: le(b, l.progFunc), JitedLen: uint32(le(b, l.progJitedLen)),
	}
	if stats := le(b, l.progStats); stats != 0 {
		for _, off := range r.percpu {
			cnt, err1 := r.m.u64(stats + off + uint64(l.statsCnt.off))
			ns, err2 := r.m.u64(stats + off + uint64(l.statsNsecs.off))
			if err1 == nil && err2 == nil {
				pr.RunCount += cnt
				pr.RunNs += ns
			}
		}
	}
	return pr, nil
}
