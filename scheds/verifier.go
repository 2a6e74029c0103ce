package scheds

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/ktstr-go/ktstr/scheds/scxload"
)

// VerifyTarget is one BPF object `ktstr verifier` loads in a guest with
// `scxload -verify`.
type VerifyTarget struct {
	// Name is how the CLI and the matrix call the scheduler.
	Name string
	// Object is the key in Built.Objects.
	Object string
	// Path, if set, is the object's host path instead (a user's object,
	// or one extracted from a user's scheduler binary).
	Path string
	// Args are extra scxload arguments, as the scheduler's own user space
	// would set them before load; "{cpus}" stands for the guest's
	// possible CPU count (libbpf_num_possible_cpus).
	Args []string
	// LoaderGap, when set, says why scxload cannot load this object the
	// way its own loader does; a rejection is then reported as that gap,
	// not as a verifier failure of the scheduler.
	LoaderGap string
}

// CPUsPlaceholder in VerifyTarget.Args is replaced by the guest's
// possible CPU count.
const CPUsPlaceholder = "{cpus}"

// VerifyTargets lists every scheduler whose programs `ktstr verifier`
// can load: all in-repo objects and the kernel tree's four, whose BPF
// objects our loader handles as their C loaders would (same rodata and
// array sizes), so the verifier sees the same programs.
func VerifyTargets() []VerifyTarget {
	return []VerifyTarget{
		{Name: "ktstr_fifo", Object: "fifo"},
		{Name: "ktstr_vtime", Object: "vtime"},
		{Name: "ktstr_starve", Object: "starve", Args: []string{"-set", "trickle_ms=500"}},
		{Name: "ktstr_stall", Object: "stall", Args: []string{"-set", "stall_after_ms=500"}},
		{Name: "ktstr_error", Object: "error"},
		{Name: "ktstr_unfair", Object: "unfair"},
		{Name: "ktstr_wedge", Object: "wedge"},
		{Name: "scx_simple", Object: "scx_simple"},
		{Name: "scx_qmap", Object: "scx_qmap"},
		// scx_central.c: nr_cpu_ids and two per-CPU arrays sized to it.
		{Name: "scx_central", Object: "scx_central", Args: []string{
			"-set", "nr_cpu_ids=" + CPUsPlaceholder,
			"-resize", "cpu_gimme_task=" + CPUsPlaceholder, "-resize", "cpu_started_at=" + CPUsPlaceholder}},
		// scx_flatcg.c: nr_cpus.
		{Name: "scx_flatcg", Object: "scx_flatcg", Args: []string{"-set", "nr_cpus=" + CPUsPlaceholder},
			LoaderGap: "cilium/ebpf v0.22 creates the private(CGV_TREE) data section (bpf_spin_lock + bpf_rb_root __contains) " +
				"without the BTF record libbpf gives it, so the kernel finds no bpf_spin_lock in the map; programs after the first rejection are not verified"},
	}
}

// HostObject is the target's BPF object on the host.
func (t VerifyTarget) HostObject(b *Built) (string, error) {
	if t.Path != "" {
		return t.Path, nil
	}
	if obj, ok := b.Objects[t.Object]; ok {
		return obj, nil
	}
	return "", fmt.Errorf("%s: object %s was not built", t.Name, t.Object)
}

// VerifyTargetsFor are the targets of a user's scheduler file: the BPF
// object itself, or every object a scheduler binary embeds (libbpf and
// libbpf-rs skeletons carry theirs whole), named after the file. They
// load with the object's own rodata defaults: a scheduler whose C loader
// sets rodata (CPU counts) before load may verify differently.
func VerifyTargetsFor(path string) ([]VerifyTarget, error) {
	objs, err := Objects(path)
	if err != nil {
		return nil, err
	}
	if len(objs) == 0 {
		return nil, fmt.Errorf("%s is not a BPF object and embeds none (a scheduler binary built with a libbpf or libbpf-rs skeleton does): nothing to verify", path)
	}
	base := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(path), ".o"), ".bpf")
	var out []VerifyTarget
	for i, o := range objs {
		name := base
		if len(objs) > 1 {
			name = fmt.Sprintf("%s#%d", base, i)
		}
		out = append(out, VerifyTarget{Name: name, Path: o})
	}
	return out, nil
}

// ProgVerification is one program's outcome as `scxload -verify` prints
// it (one JSON object per line).
type ProgVerification = scxload.ProgStats

// VerifyMarker starts each target's output in the guest script, so the
// host can attribute stray (non-JSON) lines such as loader errors.
const VerifyMarker = "### ktstr-verify "

// TargetOutput is what one target printed in the guest.
type TargetOutput struct {
	Name  string
	Progs []ProgVerification
	// Other holds the lines that were not JSON records (errors).
	Other []string
}

// ParseVerifyOutput splits the guest's output into per-target results and
// decompresses gzipped logs.
func ParseVerifyOutput(r io.Reader) ([]TargetOutput, error) {
	var out []TargetOutput
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, VerifyMarker); ok {
			out = append(out, TargetOutput{Name: strings.TrimSpace(name)})
			continue
		}
		if len(out) == 0 {
			if strings.TrimSpace(line) != "" {
				return nil, fmt.Errorf("verifier output starts without a target marker: %q", line)
			}
			continue
		}
		cur := &out[len(out)-1]
		if !strings.HasPrefix(line, "{") {
			if strings.TrimSpace(line) != "" {
				cur.Other = append(cur.Other, line)
			}
			continue
		}
		var p ProgVerification
		if err := json.Unmarshal([]byte(line), &p); err != nil {
			return nil, fmt.Errorf("decoding %s's verifier record: %w", cur.Name, err)
		}
		if len(p.LogGz) > 0 {
			zr, err := gzip.NewReader(bytes.NewReader(p.LogGz))
			if err != nil {
				return nil, fmt.Errorf("%s/%s: log: %w", cur.Name, p.Program, err)
			}
			b, err := io.ReadAll(zr)
			if err != nil {
				return nil, fmt.Errorf("%s/%s: log: %w", cur.Name, p.Program, err)
			}
			p.Log, p.LogGz = string(b), nil
		}
		cur.Progs = append(cur.Progs, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading verifier output: %w", err)
	}
	return out, nil
}
