package tests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/internal/modroot"
	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/results"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/scheds"
	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/verdict"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "write the failing run's report screenshot to docs/img/report.png")

// resultsScenario is what both runs of TestResultsDirectory do: two
// equal cgroups of CPU-bound workers judged by their share ratio (which
// scheds.Unfair breaks: it gives cg_1 1 ms slices and the others 100 ms)
// and a cgroup whose worker sleeps, so wake-ups are measured.
func resultsScenario(ctx *scenario.Ctx) error {
	return scenario.ExecuteScenario(ctx, scenario.Scenario{
		Name: "results",
		Steps: []scenario.Step{{
			Defs: []scenario.CgroupDef{scenario.Cgroup("cg_0").Workers(2), scenario.Cgroup("cg_1").Workers(2),
				scenario.Cgroup("cg_2").Work(scenario.MixedWork)},
			Hold: scenario.Frac(1),
		}},
		Checks: []scenario.ReportCheck{scenario.ShareRatio("cg_0", "cg_1", 0.5, 2)},
	})
}

// TestResultsDirectory runs the same scenario under a healthy scheduler
// (scheds.FIFO) and a deliberately unfair one (scheds.Unfair) and checks
// what each run leaves behind: every file of its results directory, the
// trace as trace-event JSON with the expected tracks, the HTML report as
// headless Chromium renders it, and `ktstr stats compare`, which must
// find the unfair run's regression on cg_1's CPU share.
func TestResultsDirectory(t *testing.T) {
	topo := topology.Must("1n1l2c1t")
	dirs := map[string]string{}
	for _, tc := range []struct {
		name   string
		sched  *scheds.Scheduler
		want   verdict.Verdict
		reason string
	}{
		{"fifo", scheds.FIFO, verdict.Pass, ""},
		{"unfair", scheds.Unfair, verdict.Fail, "share_ratio fail"},
	} {
		// A subtest per VM: the guest runs only the one it was booted for.
		t.Run(tc.name, func(t *testing.T) {
			opts := ktstr.Opts{Topology: topo, Scheduler: tc.sched, Duration: 4 * time.Second, Monitor: &monitor.Thresholds{}}
			res := ktstr.RunResult(t, opts, resultsScenario)
			if res == nil {
				return // in the guest
			}
			if res.Verdict != tc.want || !strings.Contains(strings.Join(res.Reasons, "\n"), tc.reason) {
				t.Fatalf("%s (%s), want %s with %q", res.Verdict, strings.Join(res.Reasons, "; "), tc.want, tc.reason)
			}
			if res.Dir == "" {
				t.Fatal("no results directory")
			}
			t.Logf("results in %s", res.Dir)
			checkResultFiles(t, res, topo.CPUs())
			checkReportInChromium(t, res, topo.CPUs(), tc.reason)
			dirs[tc.name] = res.Dir
		})
	}
	if len(dirs) == 2 { // both ran (never in the guest)
		checkStatsCompare(t, dirs["fifo"], dirs["unfair"])
	}
}

// checkResultFiles checks every file of a run's results directory
// against the Result the runner returned.
func checkResultFiles(t *testing.T, res *ktstr.Result, cpus int) {
	t.Helper()
	dir := res.Dir
	stored, err := results.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := stored.Result
	if r.Verdict != res.Verdict || r.Test != res.Test || r.CPUs != cpus || r.Dimensions.Kernel == "" || r.Backend != res.Backend ||
		len(r.SchedulerArgv) == 0 || r.Timings.GuestStart <= 0 || r.Timings.VM != res.Exit.Duration {
		t.Errorf("result.json = %+v", r)
	}
	for _, f := range append(r.Files, results.FileResult) {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: missing or empty (%v)", f, err)
		}
	}
	console := strings.ReplaceAll(readResultFile(t, dir, results.FileConsole), "\r", "") // the tail is kept without CRs
	tail := strings.TrimSpace(res.Exit.ConsoleTail)
	if !strings.Contains(console, "Linux version") || !strings.HasSuffix(strings.TrimSpace(console), tail[max(len(tail)-200, 0):]) {
		t.Errorf("console.log (%d bytes) is not the whole console: it lacks the boot banner or the tail the VMM kept", len(console))
	}
	sc := bufio.NewScanner(strings.NewReader(readResultFile(t, dir, results.FileRecords)))
	sc.Buffer(nil, 1<<24)
	n := 0
	for sc.Scan() {
		var rec results.Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || rec.Kind != res.Records[n].Kind || rec.Host <= 0 {
			t.Errorf("records.jsonl line %d = %.200s (%v), want %s with its receive time", n+1, sc.Text(), err, res.Records[n].Kind)
		}
		n++
	}
	if n != len(res.Records) {
		t.Errorf("records.jsonl has %d records, the run %d", n, len(res.Records))
	}
	var mon monitor.Report
	if err := json.Unmarshal([]byte(readResultFile(t, dir, results.FileMonitor)), &mon); err != nil || len(mon.Samples) != len(res.Monitor.Samples) {
		t.Errorf("monitor.json: %d samples (%v), the run %d", len(mon.Samples), err, len(res.Monitor.Samples))
	}
	var sets []struct {
		Reports []scenario.WorkerReport `json:"reports"`
	}
	if err := json.Unmarshal([]byte(readResultFile(t, dir, results.FileWorkers)), &sets); err != nil || len(sets) != 1 || len(sets[0].Reports) != 5 {
		t.Errorf("workers.json: %d scenarios (%v), want one with 5 workers", len(sets), err)
	}
	for _, key := range []string{"cg_0/cpu_share", "cg_1/cpu_share", "cg_2/wake_p99", "overall/cgroup_balance", "overall/max_nr_running"} {
		scope, name, _ := strings.Cut(key, "/")
		if _, ok := stored.Metrics.Get(scope, name); !ok {
			t.Errorf("metrics.json lacks %s", key)
		}
	}
	checkTrace(t, dir, cpus)
}

// checkTrace parses trace.json as trace-event JSON and looks for the
// tracks a scheduler developer opens it for.
func checkTrace(t *testing.T, dir string, cpus int) {
	t.Helper()
	tr, err := results.ParseTrace([]byte(readResultFile(t, dir, results.FileTrace)))
	if err != nil {
		t.Fatal(err)
	}
	tracks := tr.Tracks()
	want := []string{"X results: step 1", "i scheduler attached", "i scheduler detached", "X attached ", "i final record",
		"M host monitor: guest runqueues", "M phases", "M scheduler", "M workers (off-CPU gaps)", "M cg_2/w0 "}
	for c := range cpus {
		for _, series := range []string{"nr_running", "local_dsq", "switches_per_s"} {
			want = append(want, fmt.Sprintf("C cpu%d %s", c, series))
		}
	}
	for _, w := range want {
		found := false
		for k := range tracks {
			found = found || strings.HasPrefix(k, w)
		}
		if !found {
			t.Errorf("trace.json has no %q track", w)
		}
	}
	if n := tracks["C cpu0 nr_running"]; n < 10 {
		t.Errorf("cpu0's nr_running track has %d samples, want the monitor's (10 or more)", n)
	}
}

func readResultFile(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// chromium finds Debian's chromium; the test skips without it.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium to render the report with: install Debian's chromium (tools/setup/install-deps.sh)")
	return ""
}

// headless runs chromium on a page, without network, sync or a profile
// of the user's; as root it needs --no-sandbox.
func headless(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--hide-scrollbars", "--window-size=1200,1300"}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// checkReportInChromium renders report.html in headless Chromium,
// keeps a screenshot beside it (report.png) and checks the rendered DOM:
// one timeline row per CPU, the verdict, and the failing reason.
func checkReportInChromium(t *testing.T, res *ktstr.Result, cpus int, reason string) {
	t.Helper()
	bin := chromium(t)
	page := "file://" + filepath.Join(res.Dir, results.FileReport)
	dom := string(headless(t, bin, "--dump-dom", page))
	if n := len(regexp.MustCompile(`<g class="cpu-row" data-cpu="\d+">`).FindAllString(dom, -1)); n != cpus {
		t.Errorf("the rendered report has %d timeline rows, want one per CPU (%d)", n, cpus)
	}
	if !strings.Contains(dom, `id="verdict">`+res.Verdict.String()+`</span>`) {
		t.Errorf("the rendered report does not show the verdict %s", res.Verdict)
	}
	if reason != "" && !regexp.MustCompile(`<li class="reason">[^<]*`+regexp.QuoteMeta(reason)).MatchString(dom) {
		t.Errorf("the rendered report does not show the reason %q", reason)
	}
	if !strings.Contains(dom, `data-cgroup="cg_2"`) || !strings.Contains(dom, `class="bar"`) {
		t.Error("the rendered report has no wake-latency histogram of cg_2")
	}
	shot := filepath.Join(res.Dir, "report.png")
	headless(t, bin, "--screenshot="+shot, page)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	// The header's colour is the verdict's: green for pass, red for fail.
	r, g, _, _ := img.At(20, 20).RGBA()
	if red := r > g; red != (res.Verdict == verdict.Fail) {
		t.Errorf("screenshot header pixel (r %d, g %d) is not the %s colour", r>>8, g>>8, res.Verdict)
	}
	t.Logf("screenshot: %s", shot)
	if *updateScreenshot && res.Verdict == verdict.Fail {
		copyScreenshot(t, shot)
	}
}

// copyScreenshot makes shot the README's picture of a report.
func copyScreenshot(t *testing.T, shot string) {
	root, err := modroot.Find("", "github.com/ktstr-go/ktstr")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(shot)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(root, "docs", "img", "report.png")
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("updated %s", dst)
}

// checkStatsCompare runs `ktstr stats compare`: the unfair run against
// the healthy one regresses on cg_1's CPU share and exits 1; a run
// against itself has no regression and exits 0.
func checkStatsCompare(t *testing.T, healthy, unfair string) {
	t.Helper()
	bin := ktstrBinary(t)
	out, rc := runKtstr(t, bin, "stats", "compare", healthy, unfair)
	if rc != 1 || !regexp.MustCompile(`(?m)^cg_1 +cpu_share .*REGRESSION$`).MatchString(out) {
		t.Errorf("compare healthy unfair: exit %d, want 1 with cg_1's cpu_share a regression:\n%s", rc, out)
	}
	t.Logf("ktstr stats compare healthy unfair:\n%s", out)
	if out, rc := runKtstr(t, bin, "stats", "compare", healthy, healthy); rc != 0 || strings.Contains(out, "REGRESSION") {
		t.Errorf("compare healthy healthy: exit %d, want 0 without regressions:\n%s", rc, out)
	}
}

// ktstrBinary builds the ktstr command (KTSTR_BIN names a built one).
func ktstrBinary(t *testing.T) string {
	if b := os.Getenv("KTSTR_BIN"); b != "" {
		return b
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build ktstr with, and no KTSTR_BIN")
	}
	root, err := modroot.Find("", "github.com/ktstr-go/ktstr")
	if err != nil {
		t.Skipf("no module source to build ktstr from (%v), and no KTSTR_BIN", err)
	}
	bin := filepath.Join(t.TempDir(), "ktstr")
	cmd := exec.Command(gobin, "build", "-o", bin, "./tools/ktstr")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building ktstr: %v\n%s", err, out)
	}
	return bin
}

func runKtstr(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	}
	t.Fatalf("ktstr %s: %v", strings.Join(args, " "), err)
	return "", 0
}
