package guest

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/ktstr-go/ktstr/verdict"
)

func TestRecordRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.Send(KindStart, Start{Test: "t1", CPUs: 4}); err != nil {
		t.Fatal(err)
	}
	if err := w.Send(KindFinal, Final{Verdict: verdict.Pass}); err != nil {
		t.Fatal(err)
	}
	rd := NewReader(&buf)
	rec, err := rd.Next()
	if err != nil || rec.Kind != KindStart {
		t.Fatalf("first record: %+v, %v", rec, err)
	}
	var s Start
	if err := rec.Decode(&s); err != nil || s.Test != "t1" || s.CPUs != 4 {
		t.Fatalf("start payload %+v, %v", s, err)
	}
	rec, err = rd.Next()
	if err != nil || rec.Kind != KindFinal {
		t.Fatalf("second record: %+v, %v", rec, err)
	}
	if _, err := rd.Next(); err != io.EOF {
		t.Fatalf("after last record: %v, want io.EOF", err)
	}
}

func TestRecordResyncAndCorruption(t *testing.T) {
	var good bytes.Buffer
	w := NewWriter(&good)
	_ = w.Send(KindPhase, map[string]string{"name": "a"})
	frame := good.Bytes()

	corrupt := append([]byte(nil), frame...)
	corrupt[len(corrupt)-2] ^= 0xff // flip a payload byte: checksum mismatch

	tests := []struct {
		name    string
		stream  []byte
		want    []error // per Next call; nil = a record
		skipped int
	}{
		{"noise before frame", append([]byte("KTxKKT garbage"), frame...), []error{nil, io.EOF}, 14},
		{"corrupt then good", append(append([]byte(nil), corrupt...), frame...), []error{ErrCorrupt, nil, io.EOF}, 0},
		{"truncated frame", frame[:len(frame)-3], []error{io.ErrUnexpectedEOF}, 0},
		{"truncated magic", []byte("KTS"), []error{io.ErrUnexpectedEOF}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rd := NewReader(bytes.NewReader(tc.stream))
			for i, want := range tc.want {
				rec, err := rd.Next()
				if want == nil {
					if err != nil || rec.Kind != KindPhase {
						t.Fatalf("call %d: %+v, %v; want a phase record", i, rec, err)
					}
					continue
				}
				if !errors.Is(err, want) {
					t.Fatalf("call %d: err %v, want %v", i, err, want)
				}
			}
			if rd.Skipped != tc.skipped {
				t.Errorf("skipped %d bytes, want %d", rd.Skipped, tc.skipped)
			}
		})
	}
}

func TestRecordRejectsHugeLength(t *testing.T) {
	frame := []byte{'K', 'T', 'S', 'R', 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0}
	_, err := NewReader(bytes.NewReader(frame)).Next()
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err %v, want ErrCorrupt", err)
	}
}
