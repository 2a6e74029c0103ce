package probe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// Defaults for a Session.
const (
	// DefaultEvery is how often counts and sampled hits are reported.
	DefaultEvery = time.Second
	// samplesPerReport bounds the new hits one periodic report carries.
	samplesPerReport = 16
	// TailLen is how many of the ring's last hits a tail carries: enough
	// to see the calls that led up to a failure, small enough for the
	// data channel.
	TailLen = 200
)

// Options configure Start.
type Options struct {
	Specs []Spec
	// Emit sends a report to the host (a KindProbe record).
	Emit func(Report)
	// Every is how often counts and new hits are reported (0:
	// DefaultEvery).
	Every time.Duration
	// Table is the kernel's types for the specs, from the host
	// (VmlinuxTable); nil makes the guest parse its own BTF.
	Table *Table
	Log   *zap.Logger
}

// Session is the probes attached in the guest for one test.
type Session struct {
	opts    Options
	targets []target
	links   []link.Link
	progs   []*ebpf.Program
	counts  *ebpf.Map
	head    *ebpf.Map
	ring    *ebpf.Map
	ringMem *ebpf.Memory
	missing []Missing
	res     *resolver
	// pending are the specs waiting for AttachCallbacks.
	pending []Spec
	// setup is the time Start and AttachCallbacks took.
	setup time.Duration

	mu          sync.Mutex
	read        uint64 // ring slots read so far (sampled reports)
	overwritten uint64
	closed      bool
	stop        chan struct{}
	done        chan struct{}
}

// MaxProbes is how many functions one session probes at most.
const MaxProbes = 64

// Start attaches the probes on kernel functions the kernel's BTF knows
// and starts reporting; call it before the scheduler starts, so that
// loading programs (and, without Options.Table, parsing the kernel's
// BTF: seconds under emulation) happen before the scheduler does
// anything. The other specs (the scheduler's callbacks, functions only
// a kprobe reaches) wait for AttachCallbacks. Start fails only when no probe can work at all (no
// BPF, no BTF); one that cannot be attached is reported in
// Report.Missing.
func Start(opts Options) (*Session, error) {
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	if opts.Every <= 0 {
		opts.Every = DefaultEvery
	}
	t0 := time.Now()
	res, err := newResolver(opts.Table, opts.Specs)
	if err != nil {
		return nil, fmt.Errorf("probes: %w", err)
	}
	s := &Session{opts: opts, res: res, stop: make(chan struct{}), done: make(chan struct{})}
	defer s.took(t0)
	if err := s.makeMaps(MaxProbes); err != nil {
		res.close()
		return nil, fmt.Errorf("probes: %w", err)
	}
	kernel, later := res.split(opts.Specs)
	s.pending = later
	s.attachAll(kernel)
	go s.loop()
	return s, nil
}

// AttachCallbacks attaches the specs Start left waiting, once the
// scheduler has attached (or right away when there is none): its
// callbacks by name or all of them (AllCallbacks), and kernel functions
// without BTF as kprobes.
func (s *Session) AttachCallbacks() {
	s.mu.Lock()
	pending := s.pending
	s.pending = nil
	s.mu.Unlock()
	if len(pending) == 0 {
		return
	}
	defer s.took(time.Now())
	if err := s.res.loadCallbacks(); err != nil {
		s.addMissing(Missing{Func: Format(pending), Why: err.Error()})
		return
	}
	s.attachAll(pending)
}

// attachAll resolves specs and attaches them.
func (s *Session) attachAll(specs []Spec) {
	targets, missing := s.res.resolve(specs)
	for _, t := range targets {
		s.mu.Lock()
		idx := len(s.targets)
		s.mu.Unlock()
		if idx == MaxProbes {
			missing = append(missing, Missing{Func: t.fn, Why: fmt.Sprintf("more than %d probes", MaxProbes)})
			continue
		}
		t0 := time.Now()
		if err := s.attach(idx, &t); err != nil {
			missing = append(missing, Missing{Func: t.fn, Why: err.Error()})
			continue
		}
		t.took = time.Since(t0)
		s.mu.Lock()
		s.targets = append(s.targets, t)
		s.mu.Unlock()
	}
	s.addMissing(missing...)
}

func (s *Session) took(since time.Time) {
	s.mu.Lock()
	s.setup += time.Since(since)
	s.mu.Unlock()
}

func (s *Session) addMissing(ms ...Missing) {
	for _, m := range ms {
		s.opts.Log.Info("probe not attached", zap.String("func", m.Func), zap.String("why", m.Why))
	}
	s.mu.Lock()
	s.missing = append(s.missing, ms...)
	s.mu.Unlock()
}

// makeMaps creates the probes' maps. Their names start with
// "ktstr_probe", which the host monitor's snapshots recognise as the
// harness's own and leave unread.
func (s *Session) makeMaps(n int) error {
	var err error
	if s.counts, err = ebpf.NewMap(&ebpf.MapSpec{Name: "ktstr_probe_cnt", Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: uint32(n)}); err != nil {
		return fmt.Errorf("creating the counters: %w", err)
	}
	if s.head, err = ebpf.NewMap(&ebpf.MapSpec{Name: "ktstr_probe_hd", Type: ebpf.Array, KeySize: 4, ValueSize: headSize, MaxEntries: 1}); err != nil {
		return fmt.Errorf("creating the ring head: %w", err)
	}
	if s.ring, err = ebpf.NewMap(&ebpf.MapSpec{Name: "ktstr_probe_rg", Type: ebpf.Array, KeySize: 4, ValueSize: slotSize,
		MaxEntries: ringSlots, Flags: unix.BPF_F_MMAPABLE}); err != nil {
		return fmt.Errorf("creating the ring: %w", err)
	}
	if s.ringMem, err = s.ring.Memory(); err != nil {
		return fmt.Errorf("mapping the ring: %w", err)
	}
	return nil
}

// attach loads probe idx's program and attaches it; a kernel function
// fentry refuses is tried as a kprobe.
func (s *Session) attach(idx int, t *target) error {
	err := s.attachAs(idx, t.fl, t)
	if err != nil && t.fl == viaFentry {
		kerr := s.attachAs(idx, viaKprobe, t)
		if kerr == nil {
			t.fl, t.args = viaKprobe, t.kprobeArgs
			return nil
		}
		return fmt.Errorf("fentry: %v; kprobe: %v", firstLine(err), firstLine(kerr))
	}
	return err
}

func (s *Session) attachAs(idx int, fl flavor, t *target) error {
	args := t.args
	if fl == viaKprobe && t.kprobeArgs != nil {
		args = t.kprobeArgs
	}
	plans := make([]argPlan, len(args))
	for i, a := range args {
		plans[i] = a.plan
	}
	ins, err := program(idx, fl, plans, freezes[t.fn], progMaps{counts: s.counts.FD(), head: s.head.FD(), ring: s.ring.FD()})
	if err != nil {
		return err
	}
	spec := &ebpf.ProgramSpec{Name: fmt.Sprintf("ktstr_probe%d", idx), Instructions: ins, License: "GPL"}
	switch fl {
	case viaKprobe:
		spec.Type = ebpf.Kprobe
	default:
		spec.Type, spec.AttachType, spec.AttachTo = ebpf.Tracing, ebpf.AttachTraceFEntry, t.fn
		spec.AttachTarget = t.bpf
	}
	prog, err := loadProgram(spec, s.res.cache)
	if err != nil {
		return fmt.Errorf("loading: %w", err)
	}
	var l link.Link
	if fl == viaKprobe {
		l, err = link.Kprobe(t.fn, prog, nil)
	} else {
		l, err = link.AttachTracing(link.TracingOptions{Program: prog})
	}
	if err != nil {
		prog.Close()
		return fmt.Errorf("attaching: %w", err)
	}
	s.progs = append(s.progs, prog)
	s.links = append(s.links, l)
	return nil
}

// loadProgram loads one probe program, finding a kernel function's BTF
// in cache. ebpf.NewProgram would parse the kernel's whole BTF afresh for
// every fentry program (a fresh cache per call): about 200 ms each in an
// emulated guest. A collection takes a shared cache.
func loadProgram(spec *ebpf.ProgramSpec, cache *btf.Cache) (*ebpf.Program, error) {
	coll, err := ebpf.NewCollectionWithOptions(&ebpf.CollectionSpec{Programs: map[string]*ebpf.ProgramSpec{spec.Name: spec}},
		ebpf.CollectionOptions{Cache: cache})
	if err != nil {
		return nil, err
	}
	defer coll.Close()
	return coll.DetachProgram(spec.Name), nil
}

func firstLine(err error) string {
	msg := err.Error()
	if i := slices.Index([]byte(msg), '\n'); i >= 0 {
		return msg[:i]
	}
	return msg
}

// loop reports counts and sampled hits until Close.
func (s *Session) loop() {
	defer close(s.done)
	tick := time.NewTicker(s.opts.Every)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
			s.report("")
		}
	}
}

// Flush sends the ring's last TailLen hits now: the calls that led up to
// why ("scheduler ktstr_stall died: runnable task stall").
func (s *Session) Flush(why string) { s.report(why) }

// Close sends a last report with the tail ("end of test"), then detaches
// every probe.
func (s *Session) Close() error {
	if !s.finish() {
		return nil
	}
	// Each detach waits for an RCU grace period (a BPF trampoline's
	// update, a kprobe's unregistering): about 100 ms under emulation.
	// Detached together, the waits overlap instead of adding up.
	errs := make([]error, len(s.links))
	var wg sync.WaitGroup
	for i, l := range s.links {
		wg.Go(func() { errs[i] = l.Close() })
	}
	wg.Wait()
	for _, p := range s.progs {
		errs = append(errs, p.Close())
	}
	for _, m := range []*ebpf.Map{s.counts, s.head, s.ring} {
		errs = append(errs, m.Close())
	}
	s.res.close()
	return errors.Join(errs...)
}

// finish sends a last report with the tail ("end of test") and stops
// reporting; false if the session was already finished.
func (s *Session) finish() bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	s.mu.Unlock()
	close(s.stop)
	<-s.done
	s.report("the end of the test")
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return true
}

// report sends the counts, the hits new since the last report (the
// latest samplesPerReport of them), and with why the ring's tail.
func (s *Session) report(why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.opts.Emit == nil {
		return
	}
	r := Report{Now: monotonicNow(), Missing: s.missing, Why: why, Setup: s.setup}
	r.Counts = s.readCounts()
	head, slots := s.readRing()
	if why == "" {
		from := max(s.read, head-min(head, ringSlots))
		s.overwritten += from - s.read
		r.Hits = s.hits(slots, max(from, head-min(head-from, samplesPerReport)), head)
		s.read = head
	} else {
		r.Tail = tail(s.hits(slots, head-min(head, ringSlots), head))
	}
	r.Overwritten = s.overwritten
	s.opts.Emit(r)
}

func (s *Session) readCounts() []Count {
	out := make([]Count, len(s.targets))
	for i, t := range s.targets {
		out[i] = Count{Func: t.fn, How: t.fl.String(), Calls: s.count(i), Setup: t.took}
	}
	return out
}

// readRing returns how many slots have been claimed and a copy of the
// ring.
func (s *Session) readRing() (uint64, []byte) {
	var head [headSize / 8]uint64
	if err := s.head.Lookup(uint32(0), &head); err != nil {
		return 0, nil
	}
	buf := make([]byte, ringSlots*slotSize)
	if _, err := s.ringMem.ReadAt(buf, 0); err != nil {
		return 0, nil
	}
	return head[headCount/8], buf
}

// hits decodes the complete slots claimed as from..to-1, oldest first;
// a slot being written, or already reused, is skipped.
func (s *Session) hits(ring []byte, from, to uint64) []Hit {
	var out []Hit
	for seq := from; seq < to && ring != nil; seq++ {
		b := ring[(seq%ringSlots)*slotSize:][:slotSize]
		if binary.LittleEndian.Uint64(b[slotSeq:]) != seq+1 {
			continue
		}
		idx := int(binary.LittleEndian.Uint32(b[slotProbe:]))
		if idx >= len(s.targets) {
			continue
		}
		t := s.targets[idx]
		h := Hit{At: binary.LittleEndian.Uint64(b[slotTime:]), Seq: seq, Func: t.fn,
			CPU: int(binary.LittleEndian.Uint32(b[slotCPU:])), PID: int32(binary.LittleEndian.Uint64(b[slotPID:]))}
		for j, a := range t.args {
			h.Args = append(h.Args, Arg{Name: a.name, Value: a.render(binary.LittleEndian.Uint64(b[slotArgs+8*j:]))})
		}
		out = append(out, h)
	}
	return out
}

// tail picks what a tail report carries from the ring's hits: the
// TailLen before the first call into sched_ext's exit path and up to
// freezeAfter from there on, or without an exit the last TailLen.
func tail(hits []Hit) []Hit {
	ex := exitFuncs()
	i := slices.IndexFunc(hits, func(h Hit) bool { return ex[h.Func] })
	if i < 0 {
		return hits[max(0, len(hits)-TailLen):]
	}
	return hits[max(0, i-TailLen):min(len(hits), i+freezeAfter)]
}

// monotonicNow is CLOCK_MONOTONIC in ns, bpf_ktime_get_ns's clock.
func monotonicNow() uint64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return uint64(ts.Nano())
}

// Calls is how often fn has fired so far; false when fn is not probed.
func (s *Session) Calls(fn string) (uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.targets, func(t target) bool { return t.fn == fn })
	if i < 0 || s.closed {
		return 0, false
	}
	return s.count(i), true
}

// count sums probe i's per-CPU counters (0 if they cannot be read).
func (s *Session) count(i int) uint64 {
	var per []uint64
	if err := s.counts.Lookup(uint32(i), &per); err != nil {
		return 0
	}
	var n uint64
	for _, v := range per {
		n += v
	}
	return n
}
