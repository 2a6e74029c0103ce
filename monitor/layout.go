package monitor

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// field is where one value sits inside a struct and how wide it is.
type field struct {
	off, size uint32
}

// rqLayout holds the struct rq fields a sample reads. The sched_ext ones
// are absent (size 0) on a kernel without CONFIG_SCHED_CLASS_EXT.
type rqLayout struct {
	cpu, nrRunning, clock, nrSwitches field
	scxNrRunning, scxFlags, localDSQ  field
	// span is the bytes of struct rq that cover every field above, read
	// in one go per CPU.
	span uint32
}

// loadRQLayout resolves struct rq's fields from the kernel's BTF.
func loadRQLayout(spec *btf.Spec) (rqLayout, error) {
	var rq *btf.Struct
	if err := spec.TypeByName("rq", &rq); err != nil {
		return rqLayout{}, fmt.Errorf("struct rq in the kernel's BTF: %w", err)
	}
	var l rqLayout
	for _, f := range []struct {
		dst      *field
		path     string
		optional bool
	}{
		{&l.cpu, "cpu", false},
		{&l.nrRunning, "nr_running", false},
		{&l.clock, "clock", false},
		{&l.nrSwitches, "nr_switches", false},
		{&l.scxNrRunning, "scx.nr_running", true},
		{&l.scxFlags, "scx.flags", true},
		{&l.localDSQ, "scx.local_dsq.nr", true},
	} {
		fl, err := fieldOf(rq, f.path)
		if errors.Is(err, errNoField) && f.optional {
			continue
		}
		if err != nil {
			return rqLayout{}, fmt.Errorf("struct rq: %w", err)
		}
		*f.dst = fl
		l.span = max(l.span, fl.off+fl.size)
	}
	return l, nil
}

var errNoField = errors.New("no such field")

// fieldOf finds a dotted member path ("scx.local_dsq.nr") in a struct,
// looking through anonymous structs and unions the way C does. Only
// whole-byte integer leaves are accepted: a sample decodes them as
// little-endian unsigned values.
func fieldOf(s *btf.Struct, path string) (field, error) {
	off, typ, err := memberAt(s, path)
	if err != nil {
		return field{}, err
	}
	in, ok := btf.UnderlyingType(typ).(*btf.Int)
	if !ok {
		if e, isEnum := btf.UnderlyingType(typ).(*btf.Enum); isEnum {
			return field{off: off, size: e.Size}, nil
		}
		return field{}, fmt.Errorf("%s: not an integer (%s)", path, typ)
	}
	return field{off: off, size: in.Size}, nil
}

// memberAt finds a dotted member path in a struct or union and returns
// its byte offset and type, whatever the type is.
func memberAt(s btf.Type, path string) (uint32, btf.Type, error) {
	typ := s
	var off uint32
	for _, name := range strings.Split(path, ".") {
		ms, ok := members(typ)
		if !ok {
			return 0, nil, fmt.Errorf("%s: %s is not a struct or union", path, name)
		}
		m, moff, found := member(ms, name)
		if !found {
			return 0, nil, fmt.Errorf("%s: %w %q", path, errNoField, name)
		}
		if m.BitfieldSize != 0 || moff%8 != 0 {
			return 0, nil, fmt.Errorf("%s: %s is a bitfield", path, name)
		}
		off += uint32(moff / 8)
		typ = m.Type
	}
	return off, typ, nil
}

// members lists a struct's or union's members (through typedefs and
// qualifiers).
func members(t btf.Type) ([]btf.Member, bool) {
	switch c := btf.UnderlyingType(t).(type) {
	case *btf.Struct:
		return c.Members, true
	case *btf.Union:
		return c.Members, true
	}
	return nil, false
}

// member looks a name up among members, descending into anonymous
// structs and unions; the offset returned is in bits from their start.
func member(ms []btf.Member, name string) (btf.Member, btf.Bits, bool) {
	for _, m := range ms {
		if m.Name == name {
			return m, m.Offset, true
		}
		if m.Name != "" {
			continue
		}
		if inner, ok := members(m.Type); ok {
			if im, ioff, found := member(inner, name); found {
				return im, m.Offset + ioff, true
			}
		}
	}
	return btf.Member{}, 0, false
}
