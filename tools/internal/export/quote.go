package export

import "strings"

// Quote returns s as one bash word that expands to exactly s. Words made
// only of characters that are never special stay bare for readability;
// everything else is single-quoted, each embedded single quote closing the
// quotes, adding an escaped quote and reopening them. The empty string
// becomes a pair of single quotes so it still occupies an argv slot:
//
//	Quote("")      == `''`
//	Quote("it's")  == `'it'\''s'`
//	Quote("a b")   == `'a b'`
//	Quote("/x=1")  == `/x=1`
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	if isPlainWord(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// isPlainWord reports whether s needs no quoting: ASCII letters, digits and
// ._-+=/:,@% only, none of which bash expands or splits on ('~', '{', '*',
// '?', '[', '$', quotes and blanks are all excluded).
func isPlainWord(s string) bool {
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("._-+=/:,@%", c) >= 0:
		default:
			return false
		}
	}
	return true
}
