package monitor

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// Decoded BPF map keys and values are plain Go values: uint64, int64,
// bool, float64 and string (char arrays, enum names), Ptr, Bytes, []any
// (arrays) and Struct (structs, unions, data sections), so that JSON and
// the text rendering come from one tree, and a test can look a field up.

// Member is one field of a decoded struct, union or data section.
type Member struct {
	Name  string `json:"name"`
	Value any    `json:"value"`
}

// Struct is a decoded struct, union or data section (.bss, .data,
// .rodata), members in declaration order.
type Struct []Member

// Field returns the value of the member called name.
func (s Struct) Field(name string) (any, bool) {
	for _, m := range s {
		if m.Name == name {
			return m.Value, true
		}
	}
	return nil, false
}

// Ptr is a pointer value (an address in the guest).
type Ptr uint64

// MarshalJSON writes the address in hex.
func (p Ptr) MarshalJSON() ([]byte, error) { return json.Marshal(p.String()) }

func (p Ptr) String() string { return fmt.Sprintf("%#x", uint64(p)) }

// Bytes are bytes no BTF type describes.
type Bytes []byte

// MarshalJSON writes the bytes in hex.
func (b Bytes) MarshalJSON() ([]byte, error) { return json.Marshal(b.String()) }

func (b Bytes) String() string { return "0x" + hex.EncodeToString(b) }

// Omitted ends an array cut at maxArrayElems: how many elements were
// left out.
type Omitted int

// MarshalJSON writes the count as a sentence.
func (o Omitted) MarshalJSON() ([]byte, error) { return json.Marshal(o.String()) }

func (o Omitted) String() string { return fmt.Sprintf("... %d more", int(o)) }

// maxArrayElems bounds how many elements of an array are decoded.
const maxArrayElems = 32

// decodeBTF decodes b as a value of type t (little-endian x86-64).
// Whatever it cannot describe comes back as Bytes.
func decodeBTF(t btf.Type, b []byte) any {
	switch v := t.(type) {
	case *btf.Typedef, *btf.Volatile, *btf.Const, *btf.Restrict, *btf.TypeTag, *btf.Var:
		return decodeBTF(btf.UnderlyingType(skipVar(v)), b)
	case *btf.Int:
		return decodeInt(v, b)
	case *btf.Enum:
		return decodeEnum(v, b)
	case *btf.Pointer:
		if len(b) < 8 {
			return Bytes(b)
		}
		return Ptr(binary.LittleEndian.Uint64(b))
	case *btf.Float:
		return decodeFloat(b)
	case *btf.Array:
		return decodeArray(v, b)
	case *btf.Struct:
		return decodeMembers(v.Members, b)
	case *btf.Union:
		return decodeMembers(v.Members, b)
	case *btf.Datasec:
		return decodeDatasec(v, b)
	}
	return Bytes(b)
}

// skipVar looks through a data section's variable to its type.
func skipVar(t btf.Type) btf.Type {
	if v, ok := t.(*btf.Var); ok {
		return v.Type
	}
	return t
}

func decodeInt(t *btf.Int, b []byte) any {
	if int(t.Size) > len(b) || t.Size > 8 {
		return Bytes(b)
	}
	u := littleEndian(b[:t.Size])
	switch {
	case t.Encoding&btf.Bool != 0:
		return u != 0
	case t.Encoding&btf.Signed != 0:
		return signExtend(u, 8*t.Size)
	}
	return u
}

func signExtend(u uint64, bits uint32) int64 {
	shift := 64 - bits
	return int64(u<<shift) >> shift
}

func decodeEnum(t *btf.Enum, b []byte) any {
	if int(t.Size) > len(b) || t.Size == 0 || t.Size > 8 {
		return Bytes(b)
	}
	u := littleEndian(b[:t.Size])
	for _, v := range t.Values {
		if v.Value == u {
			return v.Name
		}
	}
	if t.Signed {
		return signExtend(u, 8*t.Size)
	}
	return u
}

func decodeFloat(b []byte) any {
	switch len(b) {
	case 4:
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
	case 8:
		return math.Float64frombits(binary.LittleEndian.Uint64(b))
	}
	return Bytes(b)
}

// decodeArray turns char arrays into strings and others into at most
// maxArrayElems elements, the last one saying how many were left out.
func decodeArray(t *btf.Array, b []byte) any {
	elem := btf.UnderlyingType(t.Type)
	size, err := btf.Sizeof(elem)
	if err != nil || size == 0 || size*int(t.Nelems) > len(b) {
		return Bytes(b)
	}
	if in, ok := elem.(*btf.Int); ok && in.Size == 1 && (in.Encoding&btf.Char != 0 || in.Name == "char") {
		return cstr(b[:t.Nelems])
	}
	n := min(int(t.Nelems), maxArrayElems)
	out := make([]any, 0, n+1)
	for i := range n {
		out = append(out, decodeBTF(elem, b[i*size:(i+1)*size]))
	}
	if int(t.Nelems) > n {
		out = append(out, Omitted(int(t.Nelems)-n))
	}
	return out
}

func decodeMembers(ms []btf.Member, b []byte) Struct {
	out := make(Struct, 0, len(ms))
	for _, m := range ms {
		out = append(out, Member{Name: m.Name, Value: decodeMember(m, b)})
	}
	return out
}

// decodeMember decodes one member, bitfields included.
func decodeMember(m btf.Member, b []byte) any {
	off := uint32(m.Offset)
	if m.BitfieldSize == 0 {
		size, err := btf.Sizeof(m.Type)
		if err != nil || off%8 != 0 || int(off/8)+size > len(b) {
			return Bytes(nil)
		}
		return decodeBTF(m.Type, b[off/8:int(off/8)+size])
	}
	bits := uint32(m.BitfieldSize)
	var word [8]byte
	copy(word[:], b[min(int(off/8), len(b)):])
	u := binary.LittleEndian.Uint64(word[:]) >> (off % 8) & (1<<bits - 1)
	if in, ok := btf.UnderlyingType(m.Type).(*btf.Int); ok && in.Encoding&btf.Signed != 0 {
		return signExtend(u, bits)
	}
	return u
}

func decodeDatasec(t *btf.Datasec, b []byte) Struct {
	out := make(Struct, 0, len(t.Vars))
	for _, v := range t.Vars {
		name := ""
		if vr, ok := v.Type.(*btf.Var); ok {
			name = vr.Name
		}
		end := int(v.Offset + v.Size)
		if end > len(b) {
			continue
		}
		out = append(out, Member{Name: name, Value: decodeBTF(v.Type, b[v.Offset:end])})
	}
	return out
}

// FormatValue renders a decoded value compactly, C-like:
// {calls: 12, name: "x", cpus: [1, 2]}.
func FormatValue(v any) string {
	var sb strings.Builder
	formatValue(&sb, v)
	return sb.String()
}

func formatValue(sb *strings.Builder, v any) {
	switch x := v.(type) {
	case string:
		sb.WriteString(strconv.Quote(x))
	case Struct:
		sb.WriteByte('{')
		for i, m := range x {
			if i > 0 {
				sb.WriteString(", ")
			}
			if m.Name != "" {
				sb.WriteString(m.Name + ": ")
			}
			formatValue(sb, m.Value)
		}
		sb.WriteByte('}')
	case []any:
		sb.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				sb.WriteString(", ")
			}
			formatValue(sb, e)
		}
		sb.WriteByte(']')
	default:
		fmt.Fprint(sb, x)
	}
}
