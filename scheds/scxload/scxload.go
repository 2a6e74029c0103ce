// Package scxload is the in-guest loader of ktstr's in-repo reference
// schedulers: Main loads a sched_ext scheduler from a BPF object file,
// attaches it, and keeps it attached until SIGTERM or SIGINT; then it
// detaches and waits for sched_ext to report "disabled".
//
// It runs in an initramfs with nothing else, so it is built static
// (CGO_ENABLED=0; cilium/ebpf is pure Go). Two programs run it: the
// scxload command (scheds/cmd/scxload) and the ktstr command itself when
// invoked under the name scxload, which is how an installed ktstr carries
// its loader without a source tree (the guest's /sched/scxload is then
// the ktstr binary).
//
//	scxload -obj /sched/fifo.bpf.o [-set victim=cg_1] [-config FILE] [-watchdog 3s]
//	scxload -obj /sched/fifo.bpf.o -verify   # load only, print verifier stats as JSON
//	scxload -obj /sched/fifo.bpf.o -verify -verify-log 2 -gzip   # with the full log, compressed
//	scxload -exec -prime /sched/prime.bpf.o -pin-enable-helper 0 -- /sched/scx_central
//
// The -exec form launches another scheduler binary so that sched_ext's
// ops.init runs on a chosen CPU: Linux 6.12 calls ops.init from the kthread
// scx_ops_enable_helper, created unpinned on the first enable, which
// breaks schedulers (scx_central) whose init must run on their central
// CPU. It enables the -prime object once (whose ops.init fails, so
// nothing attaches) to create that kthread, pins it and itself to the
// CPU, and execs the command.
//
// Exit status: 0 after a clean detach; 1 when the object cannot be loaded
// or attached; 3 when the kernel kicked the scheduler out (the sched_ext
// exit kind, reason and message are printed on stderr).
package scxload

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

const (
	stateFile = "/sys/kernel/sched_ext/state"
	opsFile   = "/sys/kernel/sched_ext/root/ops"
	// exitMapName is the map ktstr_scx.bpf.h records the exit info in.
	exitMapName = "ktstr_exit"
	// WatchdogEnv is honoured when -watchdog is not given. ktstr's runs
	// do not set it: their watchdog override reaches every scheduler
	// through the guest/watchdog supervisor.
	watchdogEnv = "KTSTR_SCX_WATCHDOG_MS"
)

// Exit statuses.
const (
	exitOK     = 0
	exitLoad   = 1
	exitKicked = 3
	exitUsage  = 2
	// pollEvery is how often the attached loader checks whether the
	// kernel kicked the scheduler out. Seldom: the loader runs beside the
	// workers being measured, and under emulation each wake-up costs
	// milliseconds of their CPU; the harness's own watch notices a death
	// within 100 ms anyway.
	pollEvery   = 250 * time.Millisecond
	detachLimit = 5 * time.Second
)

type setFlags []string

func (s *setFlags) String() string     { return strings.Join(*s, ",") }
func (s *setFlags) Set(v string) error { *s = append(*s, v); return nil }

// Main runs the loader with the command-line arguments after the program
// name and returns its exit status.
func Main(args []string) int {
	fs := flag.NewFlagSet("scxload", flag.ContinueOnError)
	var (
		obj      = fs.String("obj", "", "BPF object file holding one struct sched_ext_ops in .struct_ops.link (required)")
		watchdog = fs.Duration("watchdog", 0, "sched_ext watchdog timeout (ops.timeout_ms); 0 keeps the object's, max 30s (env "+watchdogEnv+")")
		execMode = fs.Bool("exec", false, "launch the command after --: see -prime and -pin-enable-helper")
		prime    = fs.String("prime", "", "with -exec: enable this object once first (its ops.init must fail) so the enable helper kthread exists")
		pinCPU   = fs.Int("pin-enable-helper", -1, "with -exec: pin sched_ext's enable helper kthread (where ops.init runs) and this process to CPU N")
		verify   = fs.Bool("verify", false, "load the programs with verifier statistics, print them as JSON on stdout, do not attach")
		vlevel   = fs.Int("verify-log", 2, "with -verify: verifier log level (1: branches, kept only for a rejected path; 2: every instruction)")
		gz       = fs.Bool("gzip", false, "with -verify: put the log gzip-compressed in log_gz instead of log (logs run to megabytes)")
		sets     setFlags
	)
	var resizes setFlags
	fs.Var(&sets, "set", "NAME=VALUE: set a const volatile global (integer or char array) before load; repeatable")
	config := fs.String("config", "", "file of NAME=VALUE lines applied like -set, before the -set flags ('#' starts a comment)")
	fs.Var(&resizes, "resize", "NAME=N: make the array NAME, alone in section .data.NAME, N elements long (libbpf's RESIZE_ARRAY); repeatable")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *execMode {
		return launch(*prime, *pinCPU, fs.Args())
	}
	if *obj == "" || fs.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: scxload -obj FILE.bpf.o [-set NAME=VALUE]... [-config FILE] [-resize NAME=N]... [-watchdog DUR] [-verify]\n"+
			"       scxload -exec [-prime PRIME.bpf.o] [-pin-enable-helper CPU] -- COMMAND [ARGS]...")
		return exitUsage
	}
	if *config != "" {
		fromFile, err := readConfig(*config)
		if err != nil {
			fmt.Fprintf(os.Stderr, "scxload: %v\n", err)
			return exitUsage
		}
		sets = append(fromFile, sets...)
	}
	if *watchdog == 0 {
		if ms, err := strconv.Atoi(os.Getenv(watchdogEnv)); err == nil && ms > 0 {
			*watchdog = time.Duration(ms) * time.Millisecond
		}
	}
	spec, opsMap, err := prepare(*obj, sets, resizes, *watchdog)
	if err != nil {
		fmt.Fprintf(os.Stderr, "scxload: %v\n", err)
		return exitLoad
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		fmt.Fprintf(os.Stderr, "scxload: removing memlock limit: %v\n", err)
		return exitLoad
	}
	if *verify {
		return verifyOnly(spec, filepath.Base(*obj), ebpf.LogLevel(*vlevel), *gz)
	}
	return loadAndRun(spec, opsMap)
}

// prepare reads the object, finds its sched_ext_ops map and applies -set
// and -watchdog to the spec.
func prepare(path string, sets, resizes []string, watchdog time.Duration) (*ebpf.CollectionSpec, string, error) {
	spec, err := ebpf.LoadCollectionSpec(path)
	if err != nil {
		return nil, "", fmt.Errorf("reading BPF object %s: %w", path, err)
	}
	var opsMap string
	for name, m := range spec.Maps {
		if m.Type == ebpf.StructOpsMap {
			if opsMap != "" {
				return nil, "", fmt.Errorf("%s has two struct_ops maps (%s, %s): scxload attaches exactly one", path, opsMap, name)
			}
			opsMap = name
		}
	}
	if opsMap == "" {
		return nil, "", fmt.Errorf("%s has no struct_ops map: declare `struct sched_ext_ops x` in SEC(\".struct_ops.link\")", path)
	}
	for _, kv := range resizes {
		name, val, ok := strings.Cut(kv, "=")
		n, err := strconv.Atoi(val)
		if !ok || err != nil || n < 1 {
			return nil, "", fmt.Errorf("-resize %q: want NAME=N with N >= 1", kv)
		}
		if err := resizeArray(spec, name, n); err != nil {
			return nil, "", fmt.Errorf("-resize %s: %w", name, err)
		}
	}
	for _, kv := range sets {
		name, val, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, "", fmt.Errorf("-set %q: want NAME=VALUE", kv)
		}
		if err := setVariable(spec, name, val); err != nil {
			return nil, "", fmt.Errorf("-set %s: %w", name, err)
		}
	}
	if watchdog > 0 {
		if watchdog > 30*time.Second {
			return nil, "", fmt.Errorf("-watchdog %v: sched_ext accepts at most 30s", watchdog)
		}
		if err := setOpsField(spec.Maps[opsMap], "timeout_ms", uint32(watchdog.Milliseconds())); err != nil {
			return nil, "", fmt.Errorf("setting watchdog: %w", err)
		}
	}
	return spec, opsMap, nil
}

// readConfig reads a config file: NAME=VALUE per line, as -set takes
// them; blank lines and lines starting with '#' are skipped.
func readConfig(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("-config: %w", err)
	}
	var sets []string
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.Contains(line, "=") {
			return nil, fmt.Errorf("-config %s line %d: %q is not NAME=VALUE", path, i+1, line)
		}
		sets = append(sets, line)
	}
	return sets, nil
}

func setVariable(spec *ebpf.CollectionSpec, name, val string) error {
	v, ok := spec.Variables[name]
	if !ok {
		var names []string
		for n, vs := range spec.Variables {
			if vs.Constant() {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		return fmt.Errorf("no such global; settable ones: %s", strings.Join(names, ", "))
	}
	if !v.Constant() {
		return fmt.Errorf("%s is not a const volatile global (section %s)", name, v.SectionName)
	}
	size := int(v.Size())
	var t btf.Type
	if v.Type != nil {
		t = btf.UnderlyingType(v.Type.Type)
	}
	if arr, ok := t.(*btf.Array); ok {
		if i, ok := btf.UnderlyingType(arr.Type).(*btf.Int); !ok || i.Size != 1 {
			return fmt.Errorf("%s is an array of non-char; only char arrays take strings", name)
		}
		if len(val) >= size {
			return fmt.Errorf("%q is too long for char[%d]", val, size)
		}
		buf := make([]byte, size)
		copy(buf, val)
		return v.Set(buf)
	}
	n, err := strconv.ParseInt(val, 0, 64)
	if err != nil {
		return fmt.Errorf("%s is a %d-byte integer: %w", name, size, err)
	}
	buf := make([]byte, 8)
	binary.NativeEndian.PutUint64(buf, uint64(n))
	if size > 8 {
		return fmt.Errorf("%s has unsupported size %d", name, size)
	}
	return v.Set(buf[:size])
}

// resizeArray does what libbpf's bpf_map__set_value_size does for an
// array alone in its own data section: the map, its BTF datasec and the
// variable grow (or shrink) to n elements, new elements zeroed.
func resizeArray(spec *ebpf.CollectionSpec, name string, n int) error {
	secName := ".data." + name
	m, ok := spec.Maps[secName]
	v, okv := spec.Variables[name]
	if !ok || !okv || v.SectionName != secName || v.Type == nil {
		return fmt.Errorf("no array %s in its own section %s (declare it with RESIZABLE_ARRAY(data, %s))", name, secName, name)
	}
	ds, ok := m.Value.(*btf.Datasec)
	if !ok || len(ds.Vars) != 1 {
		return fmt.Errorf("section %s must hold exactly %s", secName, name)
	}
	arr, ok := btf.UnderlyingType(v.Type.Type).(*btf.Array)
	if !ok {
		return fmt.Errorf("%s is not an array", name)
	}
	elem, err := btf.Sizeof(arr.Type)
	if err != nil {
		return fmt.Errorf("sizing %s's elements: %w", name, err)
	}
	size := n * elem
	newArr := *arr
	newArr.Nelems = uint32(n)
	newVar := *v.Type
	newVar.Type = &newArr
	newDs := btf.Copy(ds).(*btf.Datasec)
	newDs.Size = uint32(size)
	newDs.Vars[0].Size = uint32(size)
	newDs.Vars[0].Type = &newVar
	data := make([]byte, size)
	copy(data, v.Value)
	v.Value, v.Type = data, &newVar
	m.Value, m.ValueSize = newDs, uint32(size)
	m.Contents = []ebpf.MapKV{{Key: uint32(0), Value: slices.Clone(data)}}
	return nil
}

// setOpsField patches a scalar member of the struct_ops value before load.
func setOpsField(m *ebpf.MapSpec, field string, val uint32) error {
	st, ok := m.Value.(*btf.Struct)
	if !ok || len(m.Contents) != 1 {
		return fmt.Errorf("map %s is not a struct_ops value", m.Name)
	}
	data, ok := m.Contents[0].Value.([]byte)
	if !ok {
		return fmt.Errorf("map %s has no raw struct data", m.Name)
	}
	for _, mem := range st.Members {
		if mem.Name != field {
			continue
		}
		off := int(mem.Offset.Bytes())
		if off+4 > len(data) {
			return fmt.Errorf("%s.%s lies outside the data", st.Name, field)
		}
		binary.NativeEndian.PutUint32(data[off:], val)
		return nil
	}
	return fmt.Errorf("%s has no member %s", st.Name, field)
}

func loadAndRun(spec *ebpf.CollectionSpec, opsMap string) int {
	if st := readTrim(stateFile); st == "" {
		fmt.Fprintf(os.Stderr, "scxload: kernel lacks sched_ext support (no %s): build it with CONFIG_SCHED_CLASS_EXT=y\n", stateFile)
		return exitLoad
	} else if st == "enabled" {
		fmt.Fprintf(os.Stderr, "scxload: another sched_ext scheduler is already attached (ops=%s); detach it first\n", readTrim(opsFile))
		return exitLoad
	}
	name := opsName(spec.Maps[opsMap])
	// Signals are caught from here on, not only once attached: the kernel
	// reports the scheduler enabled before the attach returns, and a
	// supervisor that stops the loader as soon as it sees that must get a
	// clean detach, not a loader killed by SIGTERM's default action.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sig)
	t0 := time.Now()
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			fmt.Fprintf(os.Stderr, "scxload: %s: BPF verifier rejected the scheduler:\n%+v\n", name, ve)
		} else {
			fmt.Fprintf(os.Stderr, "scxload: %s: loading: %v\n", name, err)
		}
		return exitLoad
	}
	defer coll.Close()
	loaded := time.Since(t0)
	select {
	case s := <-sig:
		fmt.Printf("scxload: %s: %v while loading; not attaching\n", name, s)
		return exitOK
	default:
	}
	t1 := time.Now()
	l, err := link.AttachStructOps(link.StructOpsOptions{Map: coll.Maps[opsMap]})
	if err != nil {
		fmt.Fprintf(os.Stderr, "scxload: %s: attaching struct_ops: %v (check dmesg: ops.init may have failed, or another scheduler is attached)\n", name, err)
		return exitLoad
	}
	fmt.Printf("scxload: attached %s (load %v, attach %v)\n", name, loaded.Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))

	// Attached, the loader only waits: one P keeps the Go runtime from
	// spinning idle threads beside the workers.
	runtime.GOMAXPROCS(1)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	exitMap := coll.Maps[exitMapName]
	for {
		select {
		case s := <-sig:
			t2 := time.Now()
			if err := l.Close(); err != nil {
				fmt.Fprintf(os.Stderr, "scxload: %s: detaching: %v\n", name, err)
				return exitLoad
			}
			if !waitDisabled(detachLimit) {
				fmt.Fprintf(os.Stderr, "scxload: %s: detached on %v but %s still reads %q after %v\n", name, s, stateFile, readTrim(stateFile), detachLimit)
				return exitLoad
			}
			fmt.Printf("scxload: detached %s on %v (%v)\n", name, s, time.Since(t2).Round(time.Millisecond))
			return exitOK
		case <-tick.C:
			if why, kicked := kickedOut(exitMap); kicked {
				fmt.Fprintf(os.Stderr, "scxload: %s: kicked out by the kernel: %s\n", name, why)
				_ = l.Close()
				return exitKicked
			}
		}
	}
}

// exitRecord mirrors struct ktstr_exit in ktstr_scx.bpf.h.
type exitRecord struct {
	Kind     int32
	_        uint32
	ExitCode int64
	Reason   [128]byte
	Msg      [1024]byte
}

var exitKinds = map[int32]string{
	1: "SCX_EXIT_DONE", 64: "SCX_EXIT_UNREG", 65: "SCX_EXIT_UNREG_BPF", 66: "SCX_EXIT_UNREG_KERN",
	67: "SCX_EXIT_SYSRQ", 1024: "SCX_EXIT_ERROR", 1025: "SCX_EXIT_ERROR_BPF", 1026: "SCX_EXIT_ERROR_STALL",
}

// kickedOut reports whether sched_ext dropped the scheduler while this
// process still holds its link. It prefers the exit record the scheduler
// wrote; objects without one fall back to the sysfs state.
func kickedOut(exitMap *ebpf.Map) (string, bool) {
	if why, ok := exitRecorded(exitMap); ok {
		return why, true
	}
	st := readTrim(stateFile)
	if st == "enabled" || st == "enabling" {
		return "", false
	}
	// The kernel flips the state before its disable work calls ops.exit,
	// so give the exit record a moment to appear.
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if why, ok := exitRecorded(exitMap); ok {
			return why, true
		}
	}
	return fmt.Sprintf("sched_ext state is %q (the scheduler records no exit info; see dmesg)", st), true
}

// exitRecorded reads the exit record the scheduler's ops.exit wrote.
func exitRecorded(exitMap *ebpf.Map) (string, bool) {
	if exitMap != nil {
		var rec exitRecord
		if err := exitMap.Lookup(uint32(0), &rec); err == nil && rec.Kind != 0 {
			kind := exitKinds[rec.Kind]
			if kind == "" {
				kind = fmt.Sprintf("kind %d", rec.Kind)
			}
			s := fmt.Sprintf("%s (%s)", kind, cstr(rec.Reason[:]))
			if m := cstr(rec.Msg[:]); m != "" {
				s += ": " + m
			}
			return s, true
		}
	}
	return "", false
}

func waitDisabled(limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if readTrim(stateFile) == "disabled" {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

func opsName(m *ebpf.MapSpec) string {
	st, ok := m.Value.(*btf.Struct)
	data, ok2 := m.Contents[0].Value.([]byte)
	if ok && ok2 {
		for _, mem := range st.Members {
			if mem.Name == "name" {
				off := int(mem.Offset.Bytes())
				if off < len(data) {
					return cstr(data[off:])
				}
			}
		}
	}
	return m.Name
}

func cstr(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// ProgStats is one program's verifier outcome, printed by -verify.
type ProgStats struct {
	// Object is the BPF object file's base name.
	Object  string `json:"object"`
	Program string `json:"program"`
	// Loaded is false when the verifier rejected the program.
	Loaded bool `json:"loaded"`
	// Insns is "processed N insns" from the verifier's statistics.
	Insns int `json:"insns_processed"`
	// TotalStates and PeakStates are the verifier's state counts.
	TotalStates int    `json:"total_states"`
	PeakStates  int    `json:"peak_states"`
	Log         string `json:"log,omitempty"`
	// LogGz is Log gzip-compressed (with -gzip); JSON carries it as base64.
	LogGz []byte `json:"log_gz,omitempty"`
	Error string `json:"error,omitempty"`
}

var (
	statsRE = regexp.MustCompile(`processed (\d+) insns .*?total_states (\d+) peak_states (\d+)`)
	// The library names the rejected program: "program NAME: load program: ...".
	rejectedRE = regexp.MustCompile(`program (\w+):`)
)

// verifyOnly loads the whole collection with verifier logs and statistics
// (struct_ops programs can only be verified against their map, so they
// are loaded together) and prints one JSON object per program. When the
// verifier rejects a program the load stops there: that program is
// printed with its log and error, and the rest are reported unverified.
func verifyOnly(spec *ebpf.CollectionSpec, object string, level ebpf.LogLevel, gz bool) int {
	opts := ebpf.CollectionOptions{Programs: ebpf.ProgramOptions{
		LogLevel:     level | ebpf.LogLevelStats,
		LogSizeStart: 1 << 22,
	}}
	coll, err := ebpf.NewCollectionWithOptions(spec, opts)
	names := make([]string, 0, len(spec.Programs))
	for n := range spec.Programs {
		names = append(names, n)
	}
	sort.Strings(names)
	enc := json.NewEncoder(os.Stdout)
	emit := func(st ProgStats) {
		fillStats(&st)
		if gz && st.Log != "" {
			var b bytes.Buffer
			w := gzip.NewWriter(&b)
			_, _ = w.Write([]byte(st.Log))
			_ = w.Close()
			st.Log, st.LogGz = "", b.Bytes()
		}
		_ = enc.Encode(st)
	}
	if err != nil {
		st := ProgStats{Object: object, Program: "(collection)", Error: err.Error()}
		if m := rejectedRE.FindStringSubmatch(err.Error()); m != nil {
			st.Program = m[1]
		}
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			st.Log = strings.Join(ve.Log, "\n")
		}
		emit(st)
		return exitLoad
	}
	defer coll.Close()
	for _, n := range names {
		st := ProgStats{Object: object, Program: n, Loaded: true}
		if p := coll.Programs[n]; p != nil {
			st.Log = p.VerifierLog
		}
		emit(st)
	}
	return exitOK
}

func fillStats(st *ProgStats) {
	if m := statsRE.FindStringSubmatch(st.Log); m != nil {
		st.Insns, _ = strconv.Atoi(m[1])
		st.TotalStates, _ = strconv.Atoi(m[2])
		st.PeakStates, _ = strconv.Atoi(m[3])
	}
}

// enableHelperComm is the kthread's name; /proc/PID/comm shows it whole
// or cut to TASK_COMM_LEN-1 depending on the kernel, so it is matched as a
// prefix.
const enableHelperComm = "scx_ops_enable_helper"

// launch implements -exec.
func launch(prime string, cpu int, argv []string) int {
	if len(argv) == 0 {
		fmt.Fprintln(os.Stderr, "scxload -exec: no command after --")
		return exitUsage
	}
	if cpu >= 0 {
		if prime != "" && findEnableHelper() == 0 {
			if err := primeEnable(prime); err != nil {
				fmt.Fprintf(os.Stderr, "scxload: priming sched_ext with %s: %v\n", prime, err)
				return exitLoad
			}
		}
		pid := findEnableHelper()
		if pid == 0 {
			fmt.Fprintf(os.Stderr, "scxload: no %s kthread to pin (give -prime OBJ to create it)\n", enableHelperComm)
			return exitLoad
		}
		var set unix.CPUSet
		set.Set(cpu)
		if err := unix.SchedSetaffinity(pid, &set); err != nil {
			fmt.Fprintf(os.Stderr, "scxload: pinning %s (pid %d) to CPU %d: %v\n", enableHelperComm, pid, cpu, err)
			return exitLoad
		}
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			fmt.Fprintf(os.Stderr, "scxload: pinning self to CPU %d: %v\n", cpu, err)
			return exitLoad
		}
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "scxload -exec: %v\n", err)
		return exitLoad
	}
	err = syscall.Exec(path, argv, os.Environ())
	fmt.Fprintf(os.Stderr, "scxload -exec %s: %v\n", path, err)
	return exitLoad
}

// primeEnable enables obj, whose ops.init fails, and waits until
// sched_ext is disabled again.
func primeEnable(obj string) error {
	if st := readTrim(stateFile); st != "disabled" {
		return fmt.Errorf("sched_ext state is %q, want disabled", st)
	}
	spec, opsMap, err := prepare(obj, nil, nil, 0)
	if err != nil {
		return err
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		return err
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		return fmt.Errorf("loading: %w", err)
	}
	defer coll.Close()
	// 6.12 reports a failed ops.init through the exit info, not the
	// attach: either way the helper now exists and nothing stays attached.
	if l, err := link.AttachStructOps(link.StructOpsOptions{Map: coll.Maps[opsMap]}); err == nil {
		l.Close()
	}
	if findEnableHelper() == 0 {
		return fmt.Errorf("enabling %s did not create the %s kthread", obj, enableHelperComm)
	}
	if !waitDisabled(detachLimit) {
		return fmt.Errorf("sched_ext still %q after the prime", readTrim(stateFile))
	}
	return nil
}

// findEnableHelper returns the pid of the enable helper kthread, or 0.
func findEnableHelper() int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if c := readTrim("/proc/" + e.Name() + "/comm"); len(c) >= 15 && strings.HasPrefix(enableHelperComm, c) {
			return pid
		}
	}
	return 0
}
