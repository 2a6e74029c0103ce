package guest

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/topology"
)

func TestBootParamsRoundTrip(t *testing.T) {
	tests := []BootParams{
		{Mode: ModeTest, Test: "demo", Topology: topology.Must("2n4l2c2t"), Duration: 3 * time.Second, Flags: []string{"llc", "steal"}, Watchdog: 2 * time.Second},
		{Mode: ModeGoTest, Test: "TestX/sub_1", Topology: topology.Must("1n1l2c1t"), Duration: 1500 * time.Millisecond},
		{Mode: ModeExec, Exec: "echo 'a b' | wc -c; exit 3"},
		{Mode: ModeShell, Rows: 40, Cols: 120},
	}
	for _, want := range tests {
		line := "console=ttyS0 quiet " + want.Cmdline() + " loglevel=4"
		got, err := ParseBootParams(line)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q\n got %+v\nwant %+v", line, got, want)
		}
		if strings.Contains(want.Cmdline(), "  ") {
			t.Errorf("%q has an empty word", want.Cmdline())
		}
	}
}

func TestParseBootParamsRejects(t *testing.T) {
	tests := []struct{ line, want string }{
		{"console=ttyS0", "has no ktstr.mode"},
		{"ktstr.mode=test ktstr.topology=2n3l1c1t", "ktstr.topology=2n3l1c1t"},
		{"ktstr.mode=test ktstr.duration=soon", "ktstr.duration=soon"},
		{"ktstr.mode=exec ktstr.exec=!!", "decoding ktstr.exec"},
	}
	for _, tc := range tests {
		_, err := ParseBootParams(tc.line)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want %q", tc.line, err, tc.want)
		}
	}
}
