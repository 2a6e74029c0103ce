package monitor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf/btf"

	"github.com/ktstr-go/ktstr/kernel/kerneltest"
)

// dm is the kernel address of guest-physical pa in the test direct map.
func dm(pa uint64) uint64 { return testPageOffset + pa }

func (m sparseMem) putBytes(pa uint64, b []byte) {
	for i, c := range b {
		p := (pa + uint64(i)) >> 12
		if m[p] == nil {
			m[p] = make([]byte, 4096)
		}
		m[p][(pa+uint64(i))&4095] = c
	}
}

func testKmem(m sparseMem) *kmem {
	return &kmem{mem: m, pageOffset: testPageOffset, vmalloc: testPageOffset + 1<<40}
}

// An IDR walk yields the stored pointers in index order, through nodes,
// and skips value, sibling and empty entries; a bound and a cycle end it
// with an error instead of a hang.
func TestIDREntries(t *testing.T) {
	l := &bpfLayout{idrHead: field{8, 8}, xaSlots: 40, xaNSlots: 4}
	const idr, node, child = 0x1000, 0x2000, 0x3000
	ptrA, ptrB, ptrC := dm(0x5000), dm(0x5100), dm(0x5200)
	build := func(head uint64) sparseMem {
		m := sparseMem{}
		m.put(idr+8, head)
		for i, e := range []uint64{ptrA, 0x7 /* value */, dm(child) | 2, 0} {
			m.put(node+40+8*uint64(i), e)
		}
		for i, e := range []uint64{ptrB, 0xa /* sibling */, 0, ptrC} {
			m.put(child+40+8*uint64(i), e)
		}
		return m
	}
	walk := func(m sparseMem, limit int) ([]uint64, error) {
		var got []uint64
		err := testKmem(m).idrEntries(dm(idr), l, limit, func(p uint64) error {
			got = append(got, p)
			return nil
		})
		return got, err
	}
	got, err := walk(build(dm(node)|2), 10)
	if err != nil || !reflect.DeepEqual(got, []uint64{ptrA, ptrB, ptrC}) {
		t.Errorf("tree: %#x, %v; want A, B, C", got, err)
	}
	if got, err := walk(build(ptrA), 10); err != nil || !reflect.DeepEqual(got, []uint64{ptrA}) {
		t.Errorf("single entry at index 0: %#x, %v", got, err)
	}
	if _, err := walk(build(dm(node)|2), 2); !errors.Is(err, errTooManyEntries) {
		t.Errorf("bound 2 of 3 entries: %v, want errTooManyEntries", err)
	}
	cyc := build(dm(node) | 2)
	cyc.put(child+40+8, dm(node)|2) // the child points back at its parent
	if _, err := walk(cyc, 1000); err == nil || !strings.Contains(err.Error(), "deeper than") {
		t.Errorf("cycle: %v, want a depth error", err)
	}
}

// testSCX is a small made-up struct layout for sched_ext's types.
var testSCX = scxLayout{
	ok: true,
	task: taskLayout{
		pid: field{0, 4}, comm: field{8, 16}, weight: field{24, 4}, slice: field{32, 8}, dsqVtime: field{40, 8},
		runnableAt: field{48, 8}, dsqListFlags: field{72, 4}, dsqListNode: 56, runnableNode: 80, cgroups: 96, span: 104,
		cssDflCgrp: 0, cgroupKn: 8, kernfsName: 16,
	},
	dsq:         dsqLayout{list: 8, nr: field{24, 4}, id: field{32, 8}, hashNode: 40, span: 64},
	rhtTbl:      0,
	tblSize:     field{0, 4},
	tblNest:     field{4, 4},
	tblBuckets:  64,
	rhtHeadNext: 0,
}

// putTask writes a task at guest-physical pa in cgroup cgName.
func putTask(m sparseMem, pa uint64, pid uint32, comm string, runnableAt uint64, cgName string) {
	l := testSCX.task
	m.put(pa+uint64(l.pid.off), pid)
	m.putBytes(pa+uint64(l.comm.off), append([]byte(comm), 0))
	m.put(pa+uint64(l.weight.off), uint32(100))
	m.put(pa+uint64(l.slice.off), uint64(20e6))
	m.put(pa+uint64(l.dsqVtime.off), uint64(pid*1000))
	m.put(pa+uint64(l.runnableAt.off), runnableAt)
	// css_set → cgroup → kernfs_node → name, one page further each
	m.put(pa+uint64(l.cgroups), dm(pa+0x1000))
	m.put(pa+0x1000, dm(pa+0x1100))
	m.put(pa+0x1100+8, dm(pa+0x1200))
	m.put(pa+0x1200+16, dm(pa+0x1300))
	m.putBytes(pa+0x1300, append([]byte(cgName), 0))
}

// link chains list nodes (guest-physical) into a circular list at head.
func link(m sparseMem, head uint64, nodes ...uint64) {
	all := append([]uint64{head}, nodes...)
	for i, n := range all {
		m.put(n, dm(all[(i+1)%len(all)]))
	}
}

// A DSQ's tasks come in list order with their cgroup and wait, and an
// iterator's cursor in the list is not a task.
func TestDSQTasks(t *testing.T) {
	m := sparseMem{}
	const q = 0x10000
	m.put(q+32, uint64(1))
	m.put(q+24, uint32(2))
	t1, t2, cursor := uint64(0x20000), uint64(0x30000), uint64(0x40000)
	putTask(m, t1, 10, "w0", 900, "cg_1")
	putTask(m, t2, 11, "w1", 1000, "cg_1")
	m.put(cursor+56+16, uint32(lnodeIterCursor))
	link(m, q+8, t1+56, cursor+56, t2+56)
	r := &scxReader{m: testKmem(m), l: &testSCX, s: &symbols{}, jiffies: 1000, tickNs: 4e6, cgroups: map[uint64]string{}}
	d := r.dsq(dm(q), "")
	want := DSQ{ID: 1, Name: "user 0x1", Nr: 2, Tasks: []Task{
		{PID: 10, Comm: "w0", Cgroup: "cg_1", Weight: 100, Slice: 20e6, DSQVtime: 10000, Waited: 400e6},
		{PID: 11, Comm: "w1", Cgroup: "cg_1", Weight: 100, Slice: 20e6, DSQVtime: 11000},
	}}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("dsq\n%+v, want\n%+v", d, want)
	}
	// A list that never comes back to its head (changed under the read)
	// stops at the bound with what it found.
	m.put(t2+56, dm(t1+56))
	d = r.dsq(dm(q), "")
	if len(d.Tasks) == 0 || !strings.Contains(d.Err, "longer than the bound") {
		t.Errorf("cyclic list: %d tasks, error %q", len(d.Tasks), d.Err)
	}
}

// User DSQs come out of dsq_hash's buckets: a bucket's bit 0 is its
// lock, a chain ends at an odd "nulls" marker.
func TestUserDSQs(t *testing.T) {
	m := sparseMem{}
	const hash, tbl = 0x100000, 0x30000
	m.put(hash, dm(tbl))
	m.put(tbl, uint32(4))
	dsqs := map[uint64]uint64{0x50000: 7, 0x51000: 8, 0x52000: 9} // address → id
	for a, id := range dsqs {
		m.put(a+32, id)
		m.put(a+8, dm(a+8)) // empty task list
	}
	hn := func(a uint64) uint64 { return dm(a + 40) }
	// empty, locked with a chain, locked and empty, a chain
	for i, b := range []uint64{0, hn(0x50000) | 1, 1, hn(0x51000)} {
		m.put(tbl+64+8*uint64(i), b)
	}
	m.put(0x50000+40, hn(0x52000))
	m.put(0x52000+40, uint64(0x9))
	m.put(0x51000+40, uint64(0xb))
	r := &scxReader{m: testKmem(m), l: &testSCX, s: &symbols{dsqHash: startKernelMap + hash}, cgroups: map[uint64]string{}}
	got, err := r.userDSQs()
	if err != nil {
		t.Fatal(err)
	}
	var ids []uint64
	for _, d := range got {
		ids = append(ids, d.ID)
	}
	if !reflect.DeepEqual(ids, []uint64{7, 9, 8}) {
		t.Errorf("user DSQ ids %v, want [7 9 8] (bucket order, then chain order)", ids)
	}
	m.put(tbl+4, uint32(1))
	if _, err := r.userDSQs(); err == nil || !strings.Contains(err.Error(), "nested") {
		t.Errorf("nested table: %v, want it named", err)
	}
}

// Memory outside the image and the direct map is read page by page
// through the walker, each page where the page tables put it.
func TestKmemVmalloc(t *testing.T) {
	m := sparseMem{}
	const va = 0xffa0000000001ff8 // 8 bytes before a page boundary
	m.put(0x7ff8, uint64(0x1111111111111111))
	m.put(0x3000, uint64(0x2222222222222222))
	k := testKmem(m)
	if _, err := k.u64(va); !errors.Is(err, errNoWalker) {
		t.Fatalf("vmalloc read without a walker: %v, want errNoWalker", err)
	}
	walks := 0
	k.walk = func(root uint64, la57 bool, v uint64) (uint64, error) {
		walks++
		switch v &^ 0xfff {
		case va &^ 0xfff:
			return 0x7000 | v&0xfff, nil
		case va&^0xfff + 0x1000:
			return 0x3000 | v&0xfff, nil
		}
		return 0, fmt.Errorf("%#x not mapped", v)
	}
	b, err := k.bytes(va, 16)
	if err != nil {
		t.Fatal(err)
	}
	if a, c := binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:]); a != 0x1111111111111111 || c != 0x2222222222222222 {
		t.Errorf("read across the page boundary: %#x %#x", a, c)
	}
	if _, err := k.bytes(va, 16); err != nil || walks != 2 {
		t.Errorf("a second read walked the page tables again (%d walks for 2 pages), %v", walks, err)
	}
	k.reset()
	if _, err := k.u64(va); err != nil || walks != 3 {
		t.Errorf("after reset: %d walks, %v; want a fresh walk", walks, err)
	}
}

func TestDecodeBTF(t *testing.T) {
	u32 := &btf.Int{Name: "u32", Size: 4}
	s64 := &btf.Int{Name: "s64", Size: 8, Encoding: btf.Signed}
	char := &btf.Int{Name: "char", Size: 1, Encoding: btf.Signed | btf.Char}
	kind := &btf.Enum{Name: "kind", Size: 4, Values: []btf.EnumValue{{Name: "RUNNING", Value: 0}, {Name: "STALLED", Value: 2}}}
	le32 := func(v ...uint32) []byte {
		var b []byte
		for _, x := range v {
			b = binary.LittleEndian.AppendUint32(b, x)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		typ  btf.Type
		b    []byte
		want string
	}{
		{"unsigned", u32, le32(42), "42"},
		{"signed", s64, binary.LittleEndian.AppendUint64(nil, ^uint64(0)), "-1"},
		{"enum", kind, le32(2), `"STALLED"`},
		{"unnamed enum value", kind, le32(7), "7"},
		{"pointer", &btf.Pointer{Target: u32}, binary.LittleEndian.AppendUint64(nil, 0xffff888000001000), "0xffff888000001000"},
		{"char array", &btf.Array{Type: char, Nelems: 8}, []byte("cg_1\x00xyz"), `"cg_1"`},
		{"array", &btf.Array{Type: u32, Nelems: 3}, le32(1, 2, 3), "[1, 2, 3]"},
		{"long array", &btf.Array{Type: &btf.Int{Size: 1}, Nelems: maxArrayElems + 2}, make([]byte, maxArrayElems+2), "... 2 more]"},
		{"struct with bitfields", &btf.Struct{Name: "s", Size: 8, Members: []btf.Member{
			{Name: "calls", Type: u32, Offset: 0},
			{Name: "lo", Type: u32, Offset: 32, BitfieldSize: 3},
			{Name: "hi", Type: &btf.Int{Size: 4, Encoding: btf.Signed}, Offset: 35, BitfieldSize: 5},
		}}, le32(7, 0b11111_101), "{calls: 7, lo: 5, hi: -1}"},
		{"data section", &btf.Datasec{Name: ".rodata", Size: 8, Vars: []btf.VarSecinfo{
			{Type: &btf.Var{Name: "trickle_ms", Type: u32}, Offset: 4, Size: 4},
		}}, le32(0, 500), "{trickle_ms: 500}"},
		{"typedef", &btf.Typedef{Name: "pid_t", Type: u32}, le32(9), "9"},
		{"too short", u32, []byte{1}, "0x01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := FormatValue(decodeBTF(tc.typ, tc.b))
			if !strings.HasSuffix(got, tc.want) || (!strings.HasPrefix(tc.name, "long") && got != tc.want) {
				t.Errorf("%s, want %s", got, tc.want)
			}
		})
	}
}

// testBPF is a small made-up layout for the BPF types.
var testBPF = bpfLayout{
	ok: true, idrHead: field{8, 8}, xaSlots: 40, xaNSlots: 4,
	mapType: field{0, 4}, keySize: field{4, 4}, valueSize: field{8, 4}, maxEntries: field{12, 4}, mapFlags: field{16, 4},
	mapID: field{20, 4}, btfKeyID: field{24, 4}, btfValueID: field{28, 4}, btfVmlinuxValueID: field{32, 4},
	mapBTF: field{40, 8}, mapName: field{48, 16}, arrElemSize: field{64, 4}, arrValue: 128,
	htabBuckets: field{72, 8}, htabNBuckets: field{80, 4}, mapSpan: 128,
	btfData: field{0, 8}, btfDataSize: field{8, 4}, btfID: field{12, 4}, btfSpan: 16,
	bucketSize: 16, elemKey: 24,
	mapTypes: map[uint64]string{1: "BPF_MAP_TYPE_HASH", 2: "BPF_MAP_TYPE_ARRAY", 6: "BPF_MAP_TYPE_PERCPU_ARRAY"},
}

// putMap writes a struct bpf_map header.
func putMap(m sparseMem, pa uint64, typ, id, key, value, maxEntries uint32, name string, btfObj uint64) {
	for off, v := range map[uint64]uint32{0: typ, 4: key, 8: value, 12: maxEntries, 20: id, 24: 1, 28: 2} {
		m.put(pa+off, v)
	}
	m.put(pa+40, dm(btfObj))
	m.putBytes(pa+48, append([]byte(name), 0))
}

// Maps are found through map_idr and their entries decoded by their own
// BTF read from guest memory: an array, a per-CPU array (one value per
// CPU) and a hash map.
func TestBPFMaps(t *testing.T) {
	u32 := &btf.Int{Name: "u32", Size: 4}
	u64 := &btf.Int{Name: "u64", Size: 8}
	stats := &btf.Struct{Name: "stats", Size: 16, Members: []btf.Member{
		{Name: "enq", Type: u64, Offset: 0}, {Name: "disp", Type: u64, Offset: 64},
	}}
	b, err := btf.NewBuilder([]btf.Type{u32, stats}, nil) // IDs 1 and 2
	if err != nil {
		t.Fatal(err)
	}
	raw, err := b.Marshal(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := sparseMem{}
	const idr, node, btfObj, blob = 0x1000, 0x2000, 0x3000, 0x4000
	m.put(idr+8, dm(node)|2)
	m.put(btfObj, dm(blob))
	m.put(btfObj+8, uint32(len(raw)))
	m.put(btfObj+12, uint32(3))
	m.putBytes(blob, raw)
	const arr, pcpu, hash = 0x10000, 0x11000, 0x12000
	for i, p := range []uint64{arr, pcpu, hash} {
		m.put(node+40+8*uint64(i), dm(p))
	}
	putMap(m, arr, 2, 1, 4, 16, 1, "counters", btfObj)
	m.put(arr+64, uint32(16))
	m.put(arr+128, uint64(5))
	m.put(arr+136, uint64(6))
	putMap(m, pcpu, 6, 2, 4, 16, 2, "pcpu", btfObj)
	percpu := []uint64{0x100000, 0x200000}
	const pp = 0x20000 // a per-CPU pointer: CPU n's copy is at pp + its offset
	m.put(pcpu+128, dm(pp))
	m.put(pcpu+136, dm(pp+16))
	m.put(pp+percpu[0], uint64(1))
	m.put(pp+percpu[1], uint64(2))
	m.put(pp+16+percpu[1]+8, uint64(9))
	putMap(m, hash, 1, 3, 4, 16, 4, "byid", btfObj)
	const buckets, elem = 0x30000, 0x31000
	m.put(hash+72, dm(buckets))
	m.put(hash+80, uint32(2))
	m.put(buckets+16, dm(elem)) // bucket 1
	m.put(elem, uint64(3))      // nulls: end of chain
	m.put(elem+24, uint32(7))
	m.put(elem+32, uint64(70))
	m.put(elem+40, uint64(71))

	r := &bpfReader{m: testKmem(m), l: &testBPF, s: &symbols{mapIDR: startKernelMap + idr}, percpu: percpu, btfs: map[uint32]*btf.Spec{}}
	maps, err := r.maps()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, mp := range maps {
		for _, e := range mp.Entries {
			line := fmt.Sprintf("%s %s[%s] =", mp.Type, mp.Name, FormatValue(e.Key))
			if e.PerCPU == nil {
				line += " " + FormatValue(e.Value)
			}
			for _, v := range e.PerCPU {
				line += " " + FormatValue(v)
			}
			got = append(got, line)
		}
		if mp.Note != "" {
			t.Errorf("%s: note %q", mp.Name, mp.Note)
		}
	}
	want := []string{
		"BPF_MAP_TYPE_ARRAY counters[0] = {enq: 5, disp: 6}",
		"BPF_MAP_TYPE_PERCPU_ARRAY pcpu[0] = {enq: 1, disp: 0} {enq: 2, disp: 0}",
		"BPF_MAP_TYPE_PERCPU_ARRAY pcpu[1] = {enq: 0, disp: 0} {enq: 0, disp: 9}",
		"BPF_MAP_TYPE_HASH byid[7] = {enq: 70, disp: 71}",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("maps:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(r.btfs) != 1 {
		t.Errorf("%d BTF objects parsed for three maps sharing one", len(r.btfs))
	}
}

// The kernel under test's vmlinux has every type, field and symbol
// snapshots read, so none of their parts is off.
func TestIntroLayoutOfKernel(t *testing.T) {
	k, err := Load(kerneltest.Vmlinux(t))
	if err != nil {
		t.Fatal(err)
	}
	l := k.intro
	for part, note := range map[string]string{"sched_ext": l.scx.note, "schedstat": l.schedstat.note, "bpf": l.bpf.note} {
		if note != "" {
			t.Errorf("%s: %s", part, note)
		}
	}
	if !l.bpf.arenaOK {
		t.Error("struct bpf_arena missing from a 6.12 kernel")
	}
	if l.bpf.xaNSlots != 64 || l.scx.task.span == 0 || l.scx.dsq.span == 0 {
		t.Errorf("xa_node slots %d, task span %d, dsq span %d", l.bpf.xaNSlots, l.scx.task.span, l.scx.dsq.span)
	}
	if l.scx.enableStates[1] != "SCX_OPS_ENABLED" || l.bpf.mapTypes[2] != "BPF_MAP_TYPE_ARRAY" {
		t.Errorf("enum names: %v, %v", l.scx.enableStates, l.bpf.mapTypes[2])
	}
	s := k.syms
	for name, a := range map[string]uint64{"init_top_pgt": s.initTopPgt, "map_idr": s.mapIDR, "prog_idr": s.progIDR,
		"scx_ops_enable_state_var": s.scxEnableState, "dsq_hash": s.dsqHash, "global_dsqs": s.globalDSQs,
		"jiffies_64": s.jiffies, "tick_nsec": s.tickNsec, "scx_watchdog_timeout": s.scxWatchdogTimeout,
		"scx_watchdog_timestamp": s.scxWatchdogTimestamp} {
		if a < startKernelMap {
			t.Errorf("%s at %#x, want a kernel image address", name, a)
		}
	}
}

// snapGuest is bootedGuest(1) with sched_ext's globals and one task
// queued for cpu0 since jiffy 100, under a 1000-jiffy watchdog.
func snapGuest(t *testing.T) (*Guest, sparseMem, *Kernel) {
	k := *testKernel
	k.syms.scxEnableState = startKernelMap + 0x1c00000
	k.syms.jiffies = startKernelMap + 0x1c00010
	k.syms.scxWatchdogTimeout = startKernelMap + 0x1c00020
	k.syms.tickNsec = startKernelMap + 0x1c00030
	k.syms.scxOps = startKernelMap + 0x1c00100
	k.intro.scx.opsName = field{0, 16}
	k.intro.scx = testSCX
	k.intro.scx.rqLocalDSQ, k.intro.scx.rqRunnableList, k.intro.scx.rqCurr = 0x100, 0x200, 0x300
	k.intro.scx.enableStates = map[uint64]string{1: "SCX_OPS_ENABLED", 3: "SCX_OPS_DISABLED"}
	m := bootedGuest(1)
	rq := uint64(16<<20) + k.syms.runqueues
	m.put(rq+0x100+8, dm(rq+0x100+8)) // empty local DSQ
	const task = 0x40000
	putTask(m, task, 42, "victim", 100, "cg_1")
	link(m, rq+0x200, task+uint64(testSCX.task.runnableNode))
	m.put(rq+0x300, dm(task))
	m.put(text(k.syms.scxEnableState), uint32(1))
	m.put(text(k.syms.scxWatchdogTimeout), uint64(1000))
	m.put(text(k.syms.tickNsec), uint64(4e6))
	m.putBytes(text(k.syms.scxOps), []byte("ktstr_starve\x00"))
	g, err := k.Attach(m, 1)
	if err != nil {
		t.Fatal(err)
	}
	return g, m, &k
}

// Run's own snapshots: one when a task has waited half the watchdog
// timeout (once per wait), and the last periodic one when sched_ext
// leaves the enabled state.
func TestSnapshotTriggers(t *testing.T) {
	g, m, k := snapGuest(t)
	w := &snapWatch{every: time.Second}
	r := &Report{}
	step := func(jiffies uint64, state uint32, at time.Duration) {
		m.put(text(k.syms.jiffies), jiffies)
		m.put(text(k.syms.scxEnableState), state)
		w.observe(g, r, at)
	}
	var got []string
	collect := func() {
		for _, s := range r.Snapshots[len(got):] {
			got = append(got, fmt.Sprintf("%v %s %s", s.At, s.Trigger, s.Name))
		}
	}
	step(300, 1, 0)             // waited 200 of 1000 jiffies
	step(650, 1, time.Second)   // 550: half the timeout
	step(700, 1, 2*time.Second) // still the same wait: no second one
	collect()
	if len(got) != 1 || !strings.Contains(got[0], "watchdog-half a task on cpu0 waited 2.2s of the 4s watchdog timeout") {
		t.Fatalf("snapshots %q, want one at half the watchdog", got)
	}
	s := r.Snapshots[0]
	if len(s.CPUs) != 1 || s.CPUs[0].Curr == nil || s.CPUs[0].Curr.PID != 42 || s.CPUs[0].OldestWait != 550*4e6 {
		t.Errorf("snapshot cpu0: %+v", s.CPUs)
	}
	step(800, 3, 2500*time.Millisecond) // disabled
	collect()
	if len(got) != 2 || got[1] != "2s before-disable last while sched_ext was enabled" {
		t.Errorf("snapshots %q, want the periodic one of 2s reported when sched_ext was disabled", got)
	}
	if s := r.Snapshots[1].String(); !strings.Contains(s, "running 42 victim [cg_1]") {
		t.Errorf("text rendering:\n%s", s)
	}
}

// An arena map shows where its memory is and how many of its pages the
// kernel has mapped (on first touch), counted through the page walker.
func TestArena(t *testing.T) {
	l := testBPF
	l.arenaOK = true
	l.arenaUserStart, l.arenaUserEnd, l.arenaKernVM = field{88, 8}, field{96, 8}, field{104, 8}
	l.vmAddr = field{8, 8}
	l.mapSpan = 128
	l.mapTypes = map[uint64]string{33: "BPF_MAP_TYPE_ARENA"}
	m := sparseMem{}
	const arena, vm = 0x10000, 0x11000
	const kern = 0xffa0000100000000
	putMap(m, arena, 33, 9, 0, 0, 8, "arena", 0)
	m.put(arena+88, uint64(0x7f0000000000))
	m.put(arena+96, uint64(0x7f0000000000+8*pageSize))
	m.put(arena+104, dm(vm))
	m.put(vm+8, uint64(kern-arenaGuard))
	k := testKmem(m)
	k.walk = func(root uint64, la57 bool, va uint64) (uint64, error) {
		if va == kern || va == kern+3*pageSize {
			return 0x50000, nil
		}
		return 0, errors.New("not mapped")
	}
	r := &bpfReader{m: k, l: &l, s: &symbols{}, btfs: map[uint32]*btf.Spec{}}
	got := r.readMap(dm(arena))
	want := &Arena{UserStart: 0x7f0000000000, UserEnd: 0x7f0000000000 + 8*pageSize, KernStart: kern, MappedPages: 2, CheckedPages: 8}
	if got.Type != "BPF_MAP_TYPE_ARENA" || !reflect.DeepEqual(got.Arena, want) || got.Note != "" {
		t.Errorf("arena %+v (%+v), want %+v", got, got.Arena, want)
	}
}

// The watchdog's own check-in: a healthy one is up to half the timeout
// old (its work runs every half timeout), so it triggers a snapshot only
// at three quarters, when the kernel is on its way to "watchdog failed
// to check in" though no task has waited half the timeout yet.
func TestSnapshotOnStaleCheckin(t *testing.T) {
	g, m, k := snapGuest(t)
	k.syms.scxWatchdogTimestamp = startKernelMap + 0x1c00040
	w := &snapWatch{}
	r := &Report{}
	step := func(jiffies, checkedIn uint64, at time.Duration) {
		m.put(text(k.syms.jiffies), jiffies)
		m.put(text(k.syms.scxWatchdogTimestamp), checkedIn)
		w.observe(g, r, at)
	}
	step(300, 200, 0)                    // task waited 200, checked in 100 ago
	step(340, 100, 100*time.Millisecond) // check-in 240 old: its normal period
	step(590, 100, 200*time.Millisecond) // 490 old: still within half the timeout
	if len(r.Snapshots) != 0 {
		t.Fatalf("a check-in within its period took snapshots: %v", r.Snapshots)
	}
	step(350+1000*3/4, 350, 300*time.Millisecond) // 750 old; the task waited 1000: half reached too
	if len(r.Snapshots) != 1 || !strings.Contains(r.Snapshots[0].Name, "a task on cpu0 waited") {
		t.Fatalf("snapshots %v: want the task's wait named first", r.Snapshots)
	}
	// A new episode: the task ran (its wait dropped), then only the
	// check-in goes stale.
	putRunnableAt(m, 1200)
	step(1250, 1200, 400*time.Millisecond)
	putRunnableAt(m, 1950)
	step(1200+800, 1200, 500*time.Millisecond)
	if len(r.Snapshots) != 2 || !strings.Contains(r.Snapshots[1].Name, "had not checked in for 3.2s of the 4s timeout") {
		t.Fatalf("snapshots %v: want one for the stale check-in", r.Snapshots)
	}
}

// putRunnableAt sets when snapGuest's task last became runnable.
func putRunnableAt(m sparseMem, jiffies uint64) {
	m.put(0x40000+uint64(testSCX.task.runnableAt.off), jiffies)
}
