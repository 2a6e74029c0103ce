package guest

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
	"time"

	"github.com/ktstr-go/ktstr/verdict"
)

// Record kinds the guest sends to the host. The host treats a run without
// a KindFinal record as failed, whatever else arrived.
const (
	KindStart    = "start"    // guest init is up; payload: Start
	KindPhase    = "phase"    // a scenario step began; payload: {"name": ...}
	KindOp       = "op"       // a scenario op was applied; payload: OpEvent
	KindHold     = "hold"     // a step's load is in place and held, or its hold ended: Hold
	KindWorkers  = "workers"  // per-worker telemetry: {"scenario": name, "reports": []scenario.WorkerReport}
	KindSched    = "sched"    // scheduler state change (attached, exited, ...)
	KindAssert   = "assert"   // one assertion result (scenario.AssertResult)
	KindKmsg     = "kmsg"     // kernel log excerpt; payload: {"text": ...}
	KindOutput   = "output"   // arbitrary test output lines
	KindFinal    = "final"    // the verdict; payload: Final
	KindTopology = "topology" // what the guest saw; payload: free-form map
	KindSysctl   = "sysctl"   // a sysctl set and read back: {"key": ..., "value": ...}
	KindMapWrite = "mapwrite" // a BPF map write read back; payload: bpfmap.Applied
	KindPayload  = "payload"  // one payload run: scenario.PayloadResult (metrics, TAP cases)
)

// Record is one framed message on the guest→host channel.
type Record struct {
	Kind string `json:"kind"`
	// Elapsed is the time since guest init started.
	Elapsed time.Duration   `json:"elapsed"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// Decode unmarshals the record's payload into v.
func (r Record) Decode(v any) error {
	if err := json.Unmarshal(r.Data, v); err != nil {
		return fmt.Errorf("decoding %s record: %w", r.Kind, err)
	}
	return nil
}

// Hold is the payload of KindHold: the host judges the shape of the load
// (balance, queue depths) only while a step holds it, not while its tasks
// are spawned or torn down.
type Hold struct {
	Step int  `json:"step"`
	End  bool `json:"end,omitempty"`
}

// Start is the payload of KindStart.
type Start struct {
	Test    string `json:"test"`
	Kernel  string `json:"kernel"` // uname -r
	CPUs    int    `json:"cpus"`
	Cmdline string `json:"cmdline"`
	// Mono is the guest's CLOCK_MONOTONIC (ns) when the record was
	// made: with the record's Elapsed it places in-guest monotonic
	// times (worker gaps) on the host's timeline.
	Mono int64 `json:"mono,omitempty"`
}

// Final is the payload of KindFinal: the guest's own verdict.
type Final struct {
	Verdict verdict.Verdict `json:"verdict"`
	Reasons []string        `json:"reasons,omitempty"`
	// ExitCode is set for shell --exec runs.
	ExitCode int `json:"exit_code"`
}

// Frame layout: magic "KTSR", u32 payload length, u32 CRC32 (IEEE) of the
// payload, payload (JSON Record), all little-endian. The magic lets the
// reader resynchronise after line noise; the checksum rejects corruption.
var frameMagic = [4]byte{'K', 'T', 'S', 'R'}

// MaxFrame bounds one record so a corrupt length cannot make the host
// allocate gigabytes.
const MaxFrame = 16 << 20

// Writer frames records onto the channel. It is safe for concurrent use.
type Writer struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

// NewWriter frames records onto w (the guest's /dev/ttyS1).
func NewWriter(w io.Writer) *Writer { return &Writer{w: w, start: time.Now()} }

// NewRecord makes a record of kind with payload marshalled as its data,
// elapsed after guest init started.
func NewRecord(kind string, elapsed time.Duration, payload any) (Record, error) {
	data, err := json.Marshal(payload)
	if err != nil {
		return Record{}, fmt.Errorf("encoding %s record: %w", kind, err)
	}
	return Record{Kind: kind, Elapsed: elapsed, Data: data}, nil
}

// Send marshals payload and writes one framed record.
func (w *Writer) Send(kind string, payload any) error {
	r, err := NewRecord(kind, time.Since(w.start), payload)
	if err != nil {
		return err
	}
	rec, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encoding %s record: %w", kind, err)
	}
	frame := make([]byte, 12+len(rec))
	copy(frame, frameMagic[:])
	binary.LittleEndian.PutUint32(frame[4:], uint32(len(rec)))
	binary.LittleEndian.PutUint32(frame[8:], crc32.ChecksumIEEE(rec))
	copy(frame[12:], rec)
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.w.Write(frame); err != nil {
		return fmt.Errorf("writing %s record: %w", kind, err)
	}
	return nil
}

// Reader decodes framed records from the host side of the channel.
type Reader struct {
	r *bufio.Reader
	// Skipped counts bytes discarded while resynchronising.
	Skipped int
}

// NewReader reads framed records from r.
func NewReader(r io.Reader) *Reader { return &Reader{r: bufio.NewReaderSize(r, 64<<10)} }

// ErrCorrupt marks a frame whose checksum or length is wrong.
var ErrCorrupt = errors.New("corrupt record frame")

// Next returns the next record, io.EOF at a clean end, or an error
// wrapping ErrCorrupt for a damaged frame (the reader can go on after it).
func (rd *Reader) Next() (Record, error) {
	if err := rd.sync(); err != nil {
		return Record{}, err
	}
	var hdr [8]byte
	if _, err := io.ReadFull(rd.r, hdr[:]); err != nil {
		return Record{}, unexpected(err)
	}
	n := binary.LittleEndian.Uint32(hdr[:4])
	sum := binary.LittleEndian.Uint32(hdr[4:])
	if n > MaxFrame {
		return Record{}, fmt.Errorf("%w: length %d exceeds %d", ErrCorrupt, n, MaxFrame)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(rd.r, buf); err != nil {
		return Record{}, unexpected(err)
	}
	if got := crc32.ChecksumIEEE(buf); got != sum {
		return Record{}, fmt.Errorf("%w: checksum %08x, frame says %08x", ErrCorrupt, got, sum)
	}
	var rec Record
	if err := json.Unmarshal(buf, &rec); err != nil {
		return Record{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return rec, nil
}

// sync discards bytes up to and including the next frame magic.
func (rd *Reader) sync() error {
	matched := 0
	for matched < len(frameMagic) {
		b, err := rd.r.ReadByte()
		if err != nil {
			if matched > 0 {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		switch {
		case b == frameMagic[matched]:
			matched++
		case b == frameMagic[0]:
			rd.Skipped += matched
			matched = 1
		default:
			rd.Skipped += matched + 1
			matched = 0
		}
	}
	return nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
