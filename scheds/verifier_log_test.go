package scheds

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The testdata logs were captured with `ktstr verifier -o DIR` (log level
// 2 + stats) on the 6.12.117 sched_ext kernel.
func readLog(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(name, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	return string(b)
}

func TestParseVerifierStats(t *testing.T) {
	tests := []struct {
		file string
		want VerifierStats
	}{
		{"starve_enqueue.verifier.log", VerifierStats{Insns: 127, InsnLimit: 1000000, MaxStatesPerInsn: 1, TotalStates: 7, PeakStates: 7, MarkRead: 7, Time: 8301 * time.Microsecond, StackDepth: "48"}},
		{"central_dispatch.verifier.log.gz", VerifierStats{Insns: 583, InsnLimit: 1000000, MaxStatesPerInsn: 2, TotalStates: 59, PeakStates: 59, MarkRead: 18, StackDepth: "8+24"}},
		{"fcg_enqueue.rejected.verifier.log", VerifierStats{Insns: 192, InsnLimit: 1000000, MaxStatesPerInsn: 1, TotalStates: 18, PeakStates: 18, MarkRead: 3, Time: 53344 * time.Microsecond, StackDepth: "16+0"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, ok := ParseVerifierStats(readLog(t, tt.file))
			if !ok {
				t.Fatal("no statistics found")
			}
			if tt.want.Time == 0 {
				tt.want.Time = got.Time // varies per run; checked non-zero below
			}
			if got != tt.want || got.Time <= 0 {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
	if _, ok := ParseVerifierStats("0: (b7) r0 = 0\n1: (95) exit\n"); ok {
		t.Error("a log without statistics reported ok")
	}
}

// expand re-inflates a compact log: the inverse of CollapseCycles.
func expand(t *testing.T, lines []string) []string {
	t.Helper()
	single := regexp.MustCompile(`^(.*)  \[×(\d+)\]$`)
	block := regexp.MustCompile(`^\[×(\d+)\] \{$`)
	var out []string
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if m := block.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			depth, j := 1, i+1
			var body []string
			for ; j < len(lines); j++ {
				s := strings.TrimPrefix(lines[j], "  ")
				if block.MatchString(strings.TrimSpace(lines[j])) {
					depth++
				}
				if strings.TrimSpace(lines[j]) == "}" {
					depth--
					if depth == 0 {
						break
					}
				}
				body = append(body, s)
			}
			if j == len(lines) {
				t.Fatalf("unclosed block at line %d", i)
			}
			inner := expand(t, body)
			for k := 0; k < n; k++ {
				out = append(out, inner...)
			}
			i = j
			continue
		}
		if m := single.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[2])
			for k := 0; k < n; k++ {
				out = append(out, m[1])
			}
			continue
		}
		out = append(out, l)
	}
	return out
}

func TestCompactVerifierLogRealLogs(t *testing.T) {
	for _, f := range []string{"starve_enqueue.verifier.log", "central_dispatch.verifier.log.gz", "fcg_enqueue.rejected.verifier.log"} {
		t.Run(f, func(t *testing.T) {
			log := readLog(t, f)
			cl := CompactVerifierLog(log)
			var kept []string
			for _, l := range strings.Split(strings.TrimRight(log, "\n"), "\n") {
				if n, ok := normalizeLine(l); ok {
					kept = append(kept, n)
				}
			}
			if cl.Kept != len(kept) || cl.RawLines <= cl.Kept || len(cl.Lines) > cl.Kept {
				t.Errorf("raw %d, kept %d (want %d), compact %d", cl.RawLines, cl.Kept, len(kept), len(cl.Lines))
			}
			// Nothing is lost: inflating the cycles gives the kept lines back.
			if got := expand(t, cl.Lines); strings.Join(got, "\n") != strings.Join(kept, "\n") {
				t.Errorf("expanding the compact log (%d lines) gave %d lines, want %d", len(cl.Lines), len(got), len(kept))
			}
			for _, l := range cl.Lines {
				if strings.Contains(l, "R10=fp0") || strings.Contains(l, "_w=") || strings.HasPrefix(l, "processed ") {
					t.Errorf("register state or statistics left in: %q", l)
				}
			}
		})
	}
}

func TestCompactVerifierLogStarveLoop(t *testing.T) {
	// starve_enqueue compares the cgroup name byte by byte in an
	// unrolled loop (ktstr_scx.bpf.h:77): four identical iterations.
	cl := CompactVerifierLog(readLog(t, "starve_enqueue.verifier.log"))
	i := indexOf(cl.Lines, "[×4] {")
	if i < 0 || i+1 >= len(cl.Lines) || cl.Lines[i+1] != "  42: (bf) r1 = r2" {
		t.Fatalf("no [×4] cycle starting at insn 42 in:\n%s", strings.Join(cl.Lines, "\n"))
	}
	// The rejected log keeps the kernel's reason as its last line.
	fcg := CompactVerifierLog(readLog(t, "fcg_enqueue.rejected.verifier.log"))
	if last := fcg.Lines[len(fcg.Lines)-1]; last != "map '.data.CGV_TREE' has no valid bpf_spin_lock" {
		t.Errorf("last compact line of the rejected log = %q", last)
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func TestCollapseCycles(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty", "", ""},
		{"no repeats", "a b c", "a|b|c"},
		{"one line repeated", "a a a b", "a  [×3]|b"},
		{"block", "x a b a b c", "x|[×2] {|  a|  b|}|c"},
		{"most coverage wins", "a b a b a b", "[×3] {|  a|  b|}"},
		{"nested", "x a a x a a y", "[×2] {|  x|  a  [×2]|}|y"},
		{"outer cycle found after inner collapse", "a a b a a b a a b", "[×3] {|  a  [×2]|  b|}"},
		{"longest cover first", "x a a x a a a", "[×2] {|  x|  a  [×2]|}|a"},
		{"different inner counts stay apart", "x a a y x a a a y", "x|a  [×2]|y|x|a  [×3]|y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := strings.Join(CollapseCycles(strings.Fields(tt.in)), "|")
			if got != tt.want {
				t.Errorf("CollapseCycles(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeLine(t *testing.T) {
	tests := []struct {
		in, want string
		keep     bool
	}{
		{"12: (bf) r1 = r6                      ; R1_w=ctx() R6=ctx()", "12: (bf) r1 = r6", true},
		{"5: (85) call scx_bpf_task_cgroup#13802        ; R0_w=ptr_cgroup(ref_obj_id=1) refs=1", "5: (85) call scx_bpf_task_cgroup#13802", true},
		{"0: R1=ctx() R10=fp0", "", false},
		{"13: frame1: R1=ptr_cgroup(ref_obj_id=1) R2=0 R10=fp0 refs=1", "", false},
		{"from 154 to 164: R0=ptr_cgv_node(ref_obj_id=19) R10=fp0", "from 154 to 164:", true},
		{"from 162 to 147: safe", "from 162 to 147: safe", true},
		{"147: safe", "147: safe", true},
		{"; if (cnt_p) @ scx_flatcg.bpf.c:78", "; if (cnt_p) @ scx_flatcg.bpf.c:78", true},
		{" frame1: R1=ptr_cgroup(ref_obj_id=1) R2=0 R10=fp0 refs=1", "", false},
		{"caller:", "", false},
		{"mark_precise: frame0: last_idx 22 first_idx 0 subseq_idx -1", "", false},
		{"processed 192 insns (limit 1000000) max_states_per_insn 1 total_states 18 peak_states 18 mark_read 3", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, keep := normalizeLine(tt.in)
		if got != tt.want || keep != tt.keep {
			t.Errorf("normalizeLine(%q) = %q, %v; want %q, %v", tt.in, got, keep, tt.want, tt.keep)
		}
	}
}

func TestParseVerifyOutput(t *testing.T) {
	log := readLog(t, "starve_enqueue.verifier.log")
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte(log))
	w.Close()
	rec, _ := json.Marshal(ProgVerification{Object: "starve.bpf.o", Program: "starve_enqueue", Loaded: true, Insns: 127, LogGz: gz.Bytes()})
	in := fmt.Sprintf("%sktstr_starve\n%s\n%sscx_flatcg\nscxload: reading BPF object: boom\n", VerifyMarker, rec, VerifyMarker)
	outs, err := ParseVerifyOutput(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 2 || outs[0].Name != "ktstr_starve" || len(outs[0].Progs) != 1 || outs[1].Name != "scx_flatcg" {
		t.Fatalf("got %+v", outs)
	}
	if p := outs[0].Progs[0]; p.Log != log || p.LogGz != nil || p.Program != "starve_enqueue" {
		t.Errorf("log not decompressed: %d bytes, gz %d", len(p.Log), len(p.LogGz))
	}
	if len(outs[1].Progs) != 0 || len(outs[1].Other) != 1 || !strings.Contains(outs[1].Other[0], "boom") {
		t.Errorf("stray lines not kept: %+v", outs[1])
	}
	if _, err := ParseVerifyOutput(strings.NewReader("{}\n")); err == nil {
		t.Error("output without a marker was accepted")
	}
}
