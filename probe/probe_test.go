package probe

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/rlimit"
)

func TestParseFormat(t *testing.T) {
	specs := []Spec{{Func: AllCallbacks}, On("balance_scx", "rq", "prev"), On("scx_watchdog_workfn")}
	s := Format(specs)
	if s != "*,balance_scx:rq+prev,scx_watchdog_workfn" {
		t.Fatalf("Format = %q", s)
	}
	back, err := Parse(s)
	if err != nil || !reflect.DeepEqual(back, specs) {
		t.Fatalf("Parse(%q) = %v, %v", s, back, err)
	}
	for _, bad := range []string{"a b", "f:x-y", "f:a+b+c+d+e+f+g", "bpf:*"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

// A captured stack becomes probes on its telling functions, scheduler
// callbacks by their BPF name, without locks, interrupts or idle.
func TestFromStack(t *testing.T) {
	got := FromStack([]string{"read_tsc+0x4", "ktime_get_mono_fast_ns+0x2f", "bpf_prog_spin+0x1d",
		"bpf_prog_wedge_tick+0x110", "task_tick_scx+0x5e", "sched_tick+0x9a", "update_process_times+0x93",
		"queued_spin_lock_slowpath+0x29", "bpf_prog_wedge_tick+0x20"})
	var names []string
	for _, s := range got {
		names = append(names, s.Func)
	}
	if want := []string{"spin", "wedge_tick", "task_tick_scx", "sched_tick"}; !reflect.DeepEqual(names, want) {
		t.Errorf("FromStack = %v, want %v", names, want)
	}
}

// Every probe program assembles: its jumps resolve, for each way of
// reading arguments, with and without dereferencing.
func TestProgramAssembles(t *testing.T) {
	args := []argPlan{{index: 0, regOff: 112}, {index: 1, regOff: 104, derefOff: 1234, derefSize: 4}}
	for _, fl := range []flavor{viaFentry, viaKprobe, viaFentryBPF} {
		ins, err := program(3, fl, args, fl == viaFentry, progMaps{counts: 10, head: 11, ring: 12})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := ins.Marshal(&buf, binary.LittleEndian); err != nil {
			t.Errorf("%s: %v", fl, err)
		}
		if last := ins[len(ins)-1]; last.OpCode != asm.Return().OpCode {
			t.Errorf("%s: ends with %v", fl, last)
		}
	}
	if _, err := program(0, viaFentry, make([]argPlan, MaxArgs+1), false, progMaps{}); err == nil {
		t.Error("more than MaxArgs arguments accepted")
	}
}

func TestPickArgs(t *testing.T) {
	s32 := &btf.Int{Name: "s32", Size: 4, Encoding: btf.Signed}
	u64 := &btf.Int{Name: "u64", Size: 8}
	task := &btf.Struct{Name: "task_struct", Size: 4096, Members: []btf.Member{{Name: "pid", Type: s32, Offset: 8 * 1000}}}
	kind := &btf.Enum{Name: "scx_exit_kind", Size: 4, Values: []btf.EnumValue{{Name: "SCX_EXIT_ERROR_STALL", Value: 1026}}}
	params := []btf.FuncParam{{Name: "cpu", Type: s32}, {Name: "prev", Type: &btf.Pointer{Target: task}},
		{Name: "kind", Type: kind}, {Name: "dsq_id", Type: u64}}
	args, err := pickArgs("f", paramsOf(params), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{
		args[0].render(0xffffffff), // -1 in the low 32 bits
		args[1].render(42),
		args[2].render(1026),
		args[3].render(1<<63 | 1),
	}
	if want := []string{"-1", "pid 42", "SCX_EXIT_ERROR_STALL", "SCX_DSQ_GLOBAL"}; !reflect.DeepEqual(got, want) {
		t.Errorf("rendered %q, want %q", got, want)
	}
	if args[1].plan.derefOff != 1000 || args[1].plan.derefSize != 4 {
		t.Errorf("task pointer plan %+v: want the pid at 1000, 4 bytes", args[1].plan)
	}
	if a, err := pickArgs("f", paramsOf(params), []string{"arg3"}); err != nil || a[0].plan.index != 3 {
		t.Errorf("by position: %+v, %v", a, err)
	}
	if _, err := pickArgs("f", paramsOf(params), []string{"nope"}); err == nil || !strings.Contains(err.Error(), "cpu, prev, kind, dsq_id") {
		t.Errorf("unknown name: %v, want the arguments listed", err)
	}
}

// The reader decodes complete slots in claim order and skips one still
// being written.
func TestHitsFromRing(t *testing.T) {
	s := &Session{targets: []target{{fn: "stall_dispatch", args: []argInfo{{name: "cpu", render: Show{Kind: "int", Bits: 32}.render()}}}}}
	ring := make([]byte, ringSlots*slotSize)
	put := func(seq uint64, complete bool) {
		b := ring[(seq%ringSlots)*slotSize:]
		binary.LittleEndian.PutUint64(b[slotTime:], 1000+seq)
		binary.LittleEndian.PutUint32(b[slotCPU:], 1)
		binary.LittleEndian.PutUint64(b[slotPID:], 7<<32|42)
		binary.LittleEndian.PutUint64(b[slotArgs:], seq)
		if complete {
			binary.LittleEndian.PutUint64(b[slotSeq:], seq+1)
		}
	}
	put(5, true)
	put(6, false)
	put(7, true)
	hits := s.hits(ring, 5, 8)
	if len(hits) != 2 || hits[0].Seq != 5 || hits[1].Seq != 7 {
		t.Fatalf("hits %+v, want seq 5 and 7", hits)
	}
	if got := hits[1].String(); got != "cpu1 pid 42 stall_dispatch(cpu=7)" {
		t.Errorf("hit %q", got)
	}
}

// A tail report keeps what led up to the exit and the exit path.
func TestTailAroundExit(t *testing.T) {
	var hits []Hit
	for i := range 3 * TailLen {
		fn := "balance_scx"
		if i == 2*TailLen {
			fn = "scx_ops_exit_kind"
		}
		hits = append(hits, Hit{Seq: uint64(i), Func: fn})
	}
	got := tail(hits)
	if len(got) != TailLen+freezeAfter || got[TailLen].Func != "scx_ops_exit_kind" {
		t.Errorf("tail of %d from seq %d: want %d before the exit and %d from it", len(got), got[0].Seq, TailLen, freezeAfter)
	}
	if got := tail(hits[:10]); len(got) != 10 {
		t.Errorf("a short ring without an exit: %d hits, want all 10", len(got))
	}
}

// LeadingUp cuts a tail at the first exit-path call.
func TestLeadingUp(t *testing.T) {
	var tail Tail
	for i, fn := range []string{"a", "b", "stall_dispatch", "scx_ops_exit_kind", "c", "scx_ops_disable_workfn"} {
		tail.Hits = append(tail.Hits, Hit{Seq: uint64(i), Func: fn})
	}
	before, exit := tail.LeadingUp(2)
	if len(before) != 2 || before[1].Func != "stall_dispatch" || len(exit) != 2 || exit[1].Func != "scx_ops_disable_workfn" {
		t.Errorf("before %v, exit %v", before, exit)
	}
	r := Report{Now: uint64(10 * time.Second), Tail: []Hit{{At: uint64(9 * time.Second)}}}
	r.Place(20 * time.Second)
	if r.Tail[0].Elapsed != 19*time.Second {
		t.Errorf("placed at %v, want 19s", r.Tail[0].Elapsed)
	}
	// A frozen ring's tail sent again at the end is kept once.
	var res Results
	res.Add(Report{Tail: tail.Hits, Why: "died"})
	res.Add(Report{Tail: tail.Hits, Why: "the end of the test"})
	res.Add(Report{Tail: tail.Hits[1:], Why: "later"})
	if len(res.Tails) != 2 || res.Tails[1].Why != "later" {
		t.Errorf("tails %+v: want the repeated one dropped", res.Tails)
	}
}

// The claim on a ring slot must fetch the old head: BPF_ATOMIC with
// BPF_ADD|BPF_FETCH (0x01) in the immediate.
func TestFetchAddEncoding(t *testing.T) {
	var buf bytes.Buffer
	if err := (asm.Instructions{fetchAdd(asm.R0, asm.R8)}).Marshal(&buf, binary.LittleEndian); err != nil {
		t.Fatal(err)
	}
	if want := []byte{0xdb, 0x80, 0, 0, 0x01, 0, 0, 0}; !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("% x, want % x", buf.Bytes(), want)
	}
}

// A probe program run over and over (as a tc program through
// BPF_PROG_TEST_RUN, where the host allows it) counts each run and
// fills consecutive ring slots that the reader decodes in order.
func TestProgramFillsRing(t *testing.T) {
	if err := rlimit.RemoveMemlock(); err != nil {
		t.Skipf("no BPF here: %v", err)
	}
	s := &Session{targets: []target{{fn: "f"}}}
	if err := s.makeMaps(1); err != nil {
		t.Skipf("no BPF maps here: %v", err)
	}
	defer func() {
		for _, m := range []*ebpf.Map{s.counts, s.head, s.ring} {
			m.Close()
		}
	}()
	p := testProgram(t, s, false)
	const runs = ringSlots + 3 // the ring wraps
	if _, err := p.Run(&ebpf.RunOptions{Data: make([]byte, 64), Repeat: runs}); err != nil {
		t.Fatal(err)
	}
	if n := s.count(0); n != runs {
		t.Errorf("counted %d runs, want %d", n, runs)
	}
	head, ring := s.readRing()
	if head != runs {
		t.Fatalf("head %d, want %d", head, runs)
	}
	hits := s.hits(ring, head-10, head)
	if len(hits) != 10 || hits[0].Seq != head-10 || hits[9].Seq != head-1 || hits[9].PID != 7 || hits[9].At < hits[0].At {
		t.Errorf("last 10 hits: %+v", hits)
	}
	if old := s.hits(ring, 0, 3); len(old) != 0 {
		t.Errorf("slots reused by the wrap decoded as the old hits: %+v", old)
	}
	// A freezing probe lets freezeAfter more claims through, then the
	// ring keeps what it has while the counters go on.
	f := testProgram(t, s, true)
	if _, err := f.Run(&ebpf.RunOptions{Data: make([]byte, 64)}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(&ebpf.RunOptions{Data: make([]byte, 64), Repeat: 2 * freezeAfter}); err != nil {
		t.Fatal(err)
	}
	if h, _ := s.readRing(); h != runs+1+freezeAfter {
		t.Errorf("head %d after the freeze, want %d", h, runs+1+freezeAfter)
	}
	if n := s.count(0); n != runs+1+2*freezeAfter {
		t.Errorf("counted %d, want %d: a frozen ring still counts", n, runs+1+2*freezeAfter)
	}
}

// testProgram loads probe 0's program as a tc program the host can run
// (BPF_PROG_TEST_RUN); the pid_tgid helper, which tc programs may not
// call, reads as 7. It skips the test where BPF programs cannot load.
func testProgram(t *testing.T, s *Session, freeze bool) *ebpf.Program {
	t.Helper()
	ins, err := program(0, viaFentry, nil, freeze, progMaps{counts: s.counts.FD(), head: s.head.FD(), ring: s.ring.FD()})
	if err != nil {
		t.Fatal(err)
	}
	for i, in := range ins {
		if in.IsBuiltinCall() && asm.BuiltinFunc(in.Constant) == asm.FnGetCurrentPidTgid {
			ins[i] = asm.Mov.Imm(asm.R0, 7)
		}
	}
	p, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.SchedCLS, Instructions: ins, License: "GPL"})
	if err != nil {
		t.Skipf("cannot load BPF programs here: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}
