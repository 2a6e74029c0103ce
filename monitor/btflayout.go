package monitor

import (
	"fmt"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// layoutReader resolves many struct members from a kernel's BTF and
// remembers every one it could not find, so a feature can say which
// type or field the guest kernel lacks instead of failing on the first.
type layoutReader struct {
	spec    *btf.Spec
	missing []string
	structs map[string]btf.Type
}

func newLayoutReader(spec *btf.Spec) *layoutReader {
	return &layoutReader{spec: spec, structs: map[string]btf.Type{}}
}

// typ looks a struct or union up by name; nil (and a note) when absent.
func (l *layoutReader) typ(name string) btf.Type {
	if t, ok := l.structs[name]; ok {
		return t
	}
	var s *btf.Struct
	var t btf.Type
	if err := l.spec.TypeByName(name, &s); err == nil {
		t = s
	} else {
		var u *btf.Union
		if err := l.spec.TypeByName(name, &u); err == nil {
			t = u
		} else {
			l.missing = append(l.missing, "struct "+name)
		}
	}
	l.structs[name] = t
	return t
}

// off is the byte offset of a member path of any type.
func (l *layoutReader) off(st, path string) uint32 {
	f, _ := l.member(st, path)
	return f.off
}

// field is a member path with the size of its type (any type).
func (l *layoutReader) field(st, path string) field {
	f, _ := l.member(st, path)
	return f
}

func (l *layoutReader) member(st, path string) (field, btf.Type) {
	t := l.typ(st)
	if t == nil {
		return field{}, nil
	}
	off, mt, err := memberAt(t, path)
	if err != nil {
		l.missing = append(l.missing, fmt.Sprintf("%s.%s", st, path))
		return field{}, nil
	}
	size, err := btf.Sizeof(mt)
	if err != nil {
		l.missing = append(l.missing, fmt.Sprintf("%s.%s (size: %v)", st, path, err))
		return field{}, nil
	}
	return field{off: off, size: uint32(size)}, mt
}

// arrayLen is the element count of an array member.
func (l *layoutReader) arrayLen(st, path string) uint32 {
	_, mt := l.member(st, path)
	if a, ok := btf.UnderlyingType(mt).(*btf.Array); ok {
		return a.Nelems
	}
	if mt != nil {
		l.missing = append(l.missing, fmt.Sprintf("%s.%s is not an array", st, path))
	}
	return 0
}

// size is sizeof(struct st).
func (l *layoutReader) size(st string) uint32 {
	t := l.typ(st)
	if t == nil {
		return 0
	}
	n, err := btf.Sizeof(t)
	if err != nil {
		l.missing = append(l.missing, fmt.Sprintf("sizeof(struct %s): %v", st, err))
		return 0
	}
	return uint32(n)
}

// enum maps an enum's values to their names; empty (and a note) when the
// BTF lacks it.
func (l *layoutReader) enum(name string) map[uint64]string {
	var e *btf.Enum
	if err := l.spec.TypeByName(name, &e); err != nil {
		l.missing = append(l.missing, "enum "+name)
		return nil
	}
	out := make(map[uint64]string, len(e.Values))
	for _, v := range e.Values {
		out[v.Value] = v.Name
	}
	return out
}

// take returns what went missing since the last call, as one note ("" if
// nothing), and starts a new list.
func (l *layoutReader) take(feature string) string {
	if len(l.missing) == 0 {
		return ""
	}
	note := fmt.Sprintf("%s not read: the kernel's BTF has no %s", feature, strings.Join(l.missing, ", "))
	l.missing = nil
	return note
}

// enumName names v from an enum's values, else prints it in decimal.
func enumName(names map[uint64]string, v uint64) string {
	if n, ok := names[v]; ok {
		return n
	}
	return fmt.Sprint(v)
}
