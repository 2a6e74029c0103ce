// Package bpfmap writes the BPF maps of the attached sched_ext scheduler,
// by map name, key and value, and reads each write back. It runs where
// the scheduler runs: in the test VM's guest, or on the host of a
// bare-metal run, through the bpf() system call (cilium/ebpf).
//
// A scheduler's maps are the maps the loaded struct_ops programs use and
// the rest of their BPF object, which the scheduler's process holds open,
// so another BPF user on a bare-metal host cannot be written by mistake.
package bpfmap

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
)

// Write is one write of a BPF map of the scheduler under test. In JSON
// (records, the run plan) its key and value are hex strings.
type Write struct {
	// Map names the map as the kernel does (`bpftool map list`; names
	// longer than 15 characters are cut there), or by a suffix starting
	// at a '.': ".bss" is the global-variable section of whichever object
	// (libbpf calls it "scx_qmap.bss", cilium/ebpf ".bss").
	Map string
	// Key is the key's bytes; nil is a 4-byte zero, the only key of a
	// global-variable section and the first slot of an array.
	Key []byte
	// Var names a global variable of a data-section map (.bss, .data):
	// its offset and size come from the map's BTF, and Value must have
	// that size. Empty: Value goes at Offset.
	Var string
	// Offset is where Value goes in the map's value, in bytes.
	Offset int
	// Value is written over the value's bytes at Offset (or the
	// variable); the rest of the value is kept.
	Value []byte
	// Volatile marks a value the scheduler changes by itself (a counter it
	// decrements): the read-back is reported, not compared.
	Volatile bool
}

// U32 and U64 encode integers in the machine's byte order, as BPF
// programs read them.
func U32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

// U64 encodes v like U32.
func U64(v uint64) []byte { return binary.NativeEndian.AppendUint64(nil, v) }

// key returns the key bytes a write uses.
func (w Write) key() []byte {
	if w.Key == nil {
		return U32(0)
	}
	return w.Key
}

// Check reports a write that cannot be right whatever the scheduler.
func (w Write) Check() error {
	switch {
	case strings.TrimSpace(w.Map) == "":
		return errors.New("BPF map write: no map name")
	case len(w.Value) == 0:
		return fmt.Errorf("BPF map write to %s: no value", w.Map)
	case w.Offset < 0:
		return fmt.Errorf("BPF map write to %s: negative offset %d", w.Map, w.Offset)
	case w.Var != "" && w.Offset != 0:
		return fmt.Errorf("BPF map write to %s: give Var or Offset, not both", w.Map)
	}
	return nil
}

// String describes the write, e.g. ".bss.test_error_cnt = 0x64000000" or
// "stats[01000000]+8 = 0x01".
func (w Write) String() string {
	var b strings.Builder
	b.WriteString(w.Map)
	if w.Key != nil {
		fmt.Fprintf(&b, "[%s]", hex.EncodeToString(w.Key))
	}
	switch {
	case w.Var != "":
		b.WriteString("." + w.Var)
	case w.Offset != 0:
		fmt.Fprintf(&b, "+%d", w.Offset)
	}
	fmt.Fprintf(&b, " = 0x%s", hex.EncodeToString(w.Value))
	return b.String()
}

// Applied is what a write did, for the run's record.
type Applied struct {
	Write Write `json:"write"`
	// MapName and MapID are the map the write went to.
	MapName string     `json:"map_name"`
	MapID   ebpf.MapID `json:"map_id"`
	Offset  int        `json:"offset"`
	Before  hexBytes   `json:"before"`
	After   hexBytes   `json:"after"`
}

func (a Applied) String() string {
	return fmt.Sprintf("map %s (id %d) at %d: 0x%s -> 0x%s (read back)", a.MapName, a.MapID, a.Offset, a.Before, a.After)
}

// hexBytes marshals as a hex string in records.
type hexBytes []byte

func (h hexBytes) String() string { return hex.EncodeToString(h) }

// MarshalText implements encoding.TextMarshaler.
func (h hexBytes) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(h)), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *hexBytes) UnmarshalText(b []byte) error {
	v, err := hex.DecodeString(string(b))
	*h = v
	return err
}

// Apply makes the write on the attached scheduler's map and reads it
// back. A missing map, a missing key, a variable the map's BTF does not
// know, a value that does not fit, a frozen (read-only) map and a
// read-back that differs are errors naming the map.
func Apply(w Write) (Applied, error) {
	if err := w.Check(); err != nil {
		return Applied{}, err
	}
	maps, err := SchedulerMaps()
	if err != nil {
		return Applied{}, err
	}
	defer closeAll(maps)
	m, err := pick(maps, w.Map)
	if err != nil {
		return Applied{}, err
	}
	return apply(m, w)
}

func apply(m *Map, w Write) (Applied, error) {
	if perCPU(m.Info.Type) {
		return Applied{}, fmt.Errorf("map %s is a per-CPU %s: writing per-CPU maps is not supported", m.Info.Name, m.Info.Type)
	}
	off, err := m.offset(w)
	if err != nil {
		return Applied{}, err
	}
	if off+len(w.Value) > int(m.Info.ValueSize) {
		return Applied{}, fmt.Errorf("map %s: %d bytes at offset %d do not fit its %d-byte value", m.Info.Name, len(w.Value), off, m.Info.ValueSize)
	}
	key := w.key()
	if len(key) != int(m.Info.KeySize) {
		return Applied{}, fmt.Errorf("map %s: key %x has %d bytes, the map's keys have %d", m.Info.Name, key, len(key), m.Info.KeySize)
	}
	val := make([]byte, m.Info.ValueSize)
	if err := m.m.Lookup(key, &val); err != nil {
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return Applied{}, fmt.Errorf("map %s has no key %x (max %d entries): write only existing keys", m.Info.Name, key, m.Info.MaxEntries)
		}
		return Applied{}, fmt.Errorf("reading map %s key %x: %w", m.Info.Name, key, err)
	}
	a := Applied{Write: w, MapName: m.Info.Name, MapID: m.ID, Offset: off, Before: bytes.Clone(val[off : off+len(w.Value)])}
	copy(val[off:], w.Value)
	if err := m.m.Update(key, val, ebpf.UpdateExist); err != nil {
		if m.Info.Frozen() {
			return a, fmt.Errorf("map %s is frozen (read-only after load, e.g. const volatile .rodata): set it before load instead: %w", m.Info.Name, err)
		}
		return a, fmt.Errorf("writing map %s key %x: %w", m.Info.Name, key, err)
	}
	back := make([]byte, m.Info.ValueSize)
	if err := m.m.Lookup(key, &back); err != nil {
		return a, fmt.Errorf("reading back map %s key %x: %w", m.Info.Name, key, err)
	}
	a.After = bytes.Clone(back[off : off+len(w.Value)])
	if !w.Volatile && !bytes.Equal(a.After, w.Value) {
		return a, fmt.Errorf("map %s key %x at %d: wrote 0x%x, read back 0x%x (mark the write Volatile if the scheduler changes this value itself)",
			m.Info.Name, key, off, w.Value, []byte(a.After))
	}
	return a, nil
}

func perCPU(t ebpf.MapType) bool {
	switch t {
	case ebpf.PerCPUHash, ebpf.PerCPUArray, ebpf.LRUCPUHash, ebpf.PerCPUCGroupStorage:
		return true
	}
	return false
}

// writeJSON is Write as records and the run plan carry it: key and value
// in hex, like Applied's bytes.
type writeJSON struct {
	Map      string   `json:"map"`
	Key      hexBytes `json:"key,omitempty"`
	Var      string   `json:"var,omitempty"`
	Offset   int      `json:"offset,omitempty"`
	Value    hexBytes `json:"value"`
	Volatile bool     `json:"volatile,omitempty"`
}

// MarshalJSON renders the key and value in hex.
func (w Write) MarshalJSON() ([]byte, error) {
	return json.Marshal(writeJSON{Map: w.Map, Key: w.Key, Var: w.Var, Offset: w.Offset, Value: w.Value, Volatile: w.Volatile})
}

// UnmarshalJSON reads MarshalJSON's form.
func (w *Write) UnmarshalJSON(b []byte) error {
	var j writeJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*w = Write{Map: j.Map, Key: j.Key, Var: j.Var, Offset: j.Offset, Value: j.Value, Volatile: j.Volatile}
	return nil
}
