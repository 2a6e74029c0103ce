package bpfmap

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Syntax is the command-line form ParseWrite reads, for flag help.
const Syntax = "MAP:VAR=VALUE, MAP+OFFSET=VALUE or MAP=VALUE, MAP optionally followed by [KEY]; " +
	"KEY and VALUE are integers (decimal or 0x, 32 bits unless suffixed /8, /16 or /64) or hex:BYTES, e.g. .bss:test_error_cnt=100"

// ParseWrite reads a write from its command-line form (Syntax):
//
//	.bss:test_error_cnt=100       variable test_error_cnt of the .bss section, a u32
//	stats[7]+8=1/64               map stats, u32 key 7, a u64 at byte 8
//	cfg[hex:0a000000]=hex:ff00    raw key and value bytes
func ParseWrite(s string) (Write, error) {
	lhs, val, ok := strings.Cut(s, "=")
	if !ok {
		return Write{}, fmt.Errorf("BPF map write %q: want %s", s, Syntax)
	}
	var w Write
	var err error
	if w.Value, err = parseBytes(val); err != nil {
		return Write{}, fmt.Errorf("BPF map write %q: value: %w", s, err)
	}
	if i := strings.LastIndexAny(lhs, ":+"); i >= 0 && i > strings.LastIndexByte(lhs, ']') {
		sel := lhs[i+1:]
		if lhs[i] == ':' {
			w.Var = sel
		} else if w.Offset, err = strconv.Atoi(sel); err != nil {
			return Write{}, fmt.Errorf("BPF map write %q: offset %q is not a number", s, sel)
		}
		lhs = lhs[:i]
	}
	if open := strings.IndexByte(lhs, '['); open >= 0 {
		if !strings.HasSuffix(lhs, "]") {
			return Write{}, fmt.Errorf("BPF map write %q: unclosed [ in the key", s)
		}
		if w.Key, err = parseBytes(lhs[open+1 : len(lhs)-1]); err != nil {
			return Write{}, fmt.Errorf("BPF map write %q: key: %w", s, err)
		}
		lhs = lhs[:open]
	}
	w.Map = lhs
	if err := w.Check(); err != nil {
		return Write{}, fmt.Errorf("%w (from %q)", err, s)
	}
	return w, nil
}

// parseBytes reads hex:BYTES or an integer with an optional /WIDTH.
func parseBytes(s string) ([]byte, error) {
	if h, ok := strings.CutPrefix(s, "hex:"); ok {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) == 0 {
			return nil, fmt.Errorf("hex:%s: want an even number of hex digits", h)
		}
		return b, nil
	}
	num, width := s, "32"
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		num, width = s[:i], s[i+1:]
	}
	bits, err := strconv.Atoi(width)
	if err != nil || (bits != 8 && bits != 16 && bits != 32 && bits != 64) {
		return nil, fmt.Errorf("%q: width /%s: want /8, /16, /32 or /64", s, width)
	}
	var v uint64
	if strings.HasPrefix(num, "-") {
		n, err := strconv.ParseInt(num, 0, bits)
		if err != nil {
			return nil, fmt.Errorf("%q: not a %d-bit integer", s, bits)
		}
		v = uint64(n)
	} else if v, err = strconv.ParseUint(num, 0, bits); err != nil {
		return nil, fmt.Errorf("%q: not a %d-bit integer", s, bits)
	}
	switch bits {
	case 8:
		return []byte{byte(v)}, nil
	case 16:
		return binary.NativeEndian.AppendUint16(nil, uint16(v)), nil
	case 32:
		return U32(uint32(v)), nil
	}
	return U64(v), nil
}
