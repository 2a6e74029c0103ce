package guest

import "testing"

func TestParseExitReason(t *testing.T) {
	dm := `[   9.91] sched_ext: BPF scheduler "ktstr_error" enabled
[  11.81] sched_ext: BPF scheduler "ktstr_error" disabled (scx_bpf_error)
[  11.82] sched_ext: ktstr_error: ktstr_error: deliberate scx_bpf_error after 1500 ms
[  11.82]    scx_bpf_error_bstr+0x6d/0x82`
	for _, tc := range []struct{ name, dmesg, reason, msg string }{
		{"ktstr_error", dm, "scx_bpf_error", "ktstr_error: deliberate scx_bpf_error after 1500 ms"},
		{"other", dm, "", ""},
		{"simple", `sched_ext: BPF scheduler "simple" disabled (unregistered from user space)`, "unregistered from user space", ""},
	} {
		r, m := parseExitReason(tc.dmesg, tc.name)
		if r != tc.reason || m != tc.msg {
			t.Errorf("%s: got (%q, %q), want (%q, %q)", tc.name, r, m, tc.reason, tc.msg)
		}
	}
}

func TestFormatKmsg(t *testing.T) {
	got := formatKmsg("3,512,11818411,-;sched_ext: BPF scheduler \"x\" disabled (runnable task stall)\n SUBSYSTEM=x\n")
	want := `[   11.818411] sched_ext: BPF scheduler "x" disabled (runnable task stall)`
	if got != want {
		t.Errorf("formatKmsg = %q, want %q", got, want)
	}
}
