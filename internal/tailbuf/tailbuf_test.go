package tailbuf

import (
	"strings"
	"testing"
)

func TestBuffer(t *testing.T) {
	long := func(c string) string { return strings.Repeat(c, 5000) }
	tests := []struct {
		name     string
		maxLines int
		maxBytes int
		writes   []string
		want     string
		wantSeen int // lines OnLine saw
	}{
		{
			name:     "oldest lines scroll out, the partial line is kept",
			maxLines: 3,
			writes:   []string{"first\r\n", "line\n", "line\n", "line\n", "line\n", "partial"},
			want:     "line\nline\nline\npartial",
			wantSeen: 5,
		},
		{
			name:     "lines split across writes",
			maxLines: 2,
			writes:   []string{"a", "b\nc", "d\r\ne\n"},
			want:     "cd\ne",
			wantSeen: 3,
		},
		{
			name:     "overflowing unterminated output obeys the line cap",
			maxLines: 2,
			writes:   []string{long("a"), long("b"), long("c")},
			want:     long("b") + "\n" + long("c"),
			wantSeen: 3,
		},
		{
			name:     "byte cap drops whole old lines but keeps the newest",
			maxLines: 100, maxBytes: 10,
			writes:   []string{"aaaa\nbbbb\ncccc\n", long("d") + "\n"},
			want:     long("d"),
			wantSeen: 4,
		},
		{
			name:   "zero value keeps nothing",
			writes: []string{"x\n"},
			want:   "",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seen := 0
			b := &Buffer{MaxLines: tc.maxLines, MaxBytes: tc.maxBytes}
			if tc.wantSeen > 0 {
				b.OnLine = func(string) { seen++ }
			}
			for _, w := range tc.writes {
				if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(w))
				}
			}
			if got := b.String(); got != tc.want {
				t.Errorf("tail %.60q... (%d bytes), want %.60q... (%d bytes)", got, len(got), tc.want, len(tc.want))
			}
			if seen != tc.wantSeen {
				t.Errorf("OnLine saw %d lines, want %d", seen, tc.wantSeen)
			}
		})
	}
}

func TestLast(t *testing.T) {
	if got := Last("a\nb\nc\n", 2); got != "b\nc" {
		t.Errorf("Last = %q, want %q", got, "b\nc")
	}
	if got := Last("only", 5); got != "only" {
		t.Errorf("Last = %q, want %q", got, "only")
	}
}
