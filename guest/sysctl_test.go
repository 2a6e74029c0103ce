package guest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSysctlApply(t *testing.T) {
	dir := t.TempDir()
	old := procSys
	procSys = dir
	t.Cleanup(func() { procSys = old })
	if err := os.MkdirAll(filepath.Join(dir, "kernel"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"kernel/sched_rt_runtime_us", "kernel/printk"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := ApplySysctls([]Sysctl{{"kernel.sched_rt_runtime_us", "950000"}, {"kernel/printk", "4 4 1 7"}}); err != nil {
		t.Fatal(err)
	}
	got, err := Sysctl{Key: "kernel.sched_rt_runtime_us"}.Read()
	if err != nil || got != "950000" {
		t.Fatalf("read back %q, %v", got, err)
	}
	err = Sysctl{"kernel.nope", "1"}.Apply()
	if err == nil || !strings.Contains(err.Error(), "sysctl kernel.nope") {
		t.Errorf("missing sysctl: %v", err)
	}
	for _, bad := range []string{"", "../etc/passwd", "/etc/passwd", "kernel/../../x"} {
		if err := (Sysctl{bad, "1"}).Check(); err == nil {
			t.Errorf("Check(%q) accepted", bad)
		}
	}
}
