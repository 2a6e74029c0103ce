package ktstr

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/verdict"
)

// HostBackend is Result.Backend for a HostOnly test: it ran on the host.
const HostBackend = "host"

// runOnHost runs a HostOnly test's body on this host, without a VM or a
// scheduler, judged like any body (and by Opts.ExpectFail). As root on a
// host whose /sys/fs/cgroup is cgroup2 the body gets a cgroup of its
// own; elsewhere it runs without cgroups (scenario.ErrNoCgroups).
func runOnHost(ctx context.Context, rt *Test, ro RunOptions) (*Result, error) {
	if err := hostOnlyRefusals(&rt.Opts); err != nil {
		return nil, fmt.Errorf("test %s: %w", rt.Name, err)
	}
	d := rt.EffectiveDuration()
	if ro.Duration > 0 {
		d = ro.Duration
	}
	re, err := compileExpectFail(rt.ExpectFail)
	if err != nil {
		return nil, err
	}
	log := ro.Log
	if log == nil {
		log = zap.NewNop()
	}
	res := &Result{Test: rt.Name, Backend: HostBackend}
	start := time.Now()
	b := &bodyRun{
		body:     rt.Body,
		duration: d,
		cgroup:   hostCgroup(),
		emit:     hostEmitter(res, start, ro.OnRecord),
		limit:    3*d + time.Minute,
		log:      log,
	}
	v, reasons, err := b.run()
	if err != nil {
		v, reasons = verdict.Fail, append(reasons, err.Error())
	}
	res.Verdict, res.Reasons = expectFailure(re, v, reasons)
	res.Exit.Duration = time.Since(start)
	return res, ctx.Err()
}

// hostOnlyRefusals names what a host-only test cannot have: it would
// change this machine, or needs a VM.
func hostOnlyRefusals(o *Opts) error {
	var bad []string
	if o.Scheduler != nil {
		bad = append(bad, "a Scheduler")
	}
	if len(o.Sysctls) > 0 {
		bad = append(bad, "Sysctls")
	}
	if len(o.KernelArgs) > 0 {
		bad = append(bad, "KernelArgs")
	}
	if len(o.MapWrites) > 0 {
		bad = append(bad, "MapWrites")
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("HostOnly tests run on this host without a VM: they cannot take %s (drop HostOnly to run in a VM)", strings.Join(bad, ", "))
}

// hostCgroup is a cgroup for a host-only body, or "" where the host has
// none to give.
func hostCgroup() string {
	var st unix.Statfs_t
	if os.Geteuid() != 0 || unix.Statfs(cgroupMount, &st) != nil || st.Type != unix.CGROUP2_SUPER_MAGIC {
		return ""
	}
	return filepath.Join(cgroupMount, fmt.Sprintf("ktstr-host-%d", os.Getpid()))
}

// hostEmitter keeps a host-only body's records in the result, as a VM's
// are, and hands each to onRecord.
func hostEmitter(res *Result, start time.Time, onRecord func(guest.Record)) func(string, any) {
	var mu sync.Mutex
	return func(kind string, payload any) {
		b, err := json.Marshal(payload)
		if err != nil {
			return
		}
		r := guest.Record{Kind: kind, Elapsed: time.Since(start), Data: b}
		mu.Lock()
		defer mu.Unlock()
		res.Records = append(res.Records, r)
		if onRecord != nil {
			onRecord(r)
		}
	}
}
