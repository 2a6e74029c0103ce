package ktstr

import (
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/topology"
)

func TestApplyEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Opts
		files   []string
		wantErr string
	}{
		{"nothing set", nil, Opts{Duration: time.Second}, nil, ""},
		{"variant", map[string]string{EnvTopology: "1,2,2,1", EnvDuration: "5s", EnvFlags: "", EnvSchedFiles: " /a/x  /b/y "},
			Opts{Topology: topology.Must("1n2l2c1t"), Duration: 5 * time.Second}, []string{"/a/x", "/b/y"}, ""},
		{"bad topology", map[string]string{EnvTopology: "1,3,1,1,"}, Opts{}, nil, "KTSTR_TOPOLOGY"},
		{"bad duration", map[string]string{EnvDuration: "-2s"}, Opts{}, nil, "positive duration"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{EnvTopology, EnvDuration, EnvFlags, EnvSchedFiles} {
				t.Setenv(k, "")
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			opts := Opts{Duration: time.Second}
			files, err := applyEnv(&opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if opts.Topology != tc.want.Topology || opts.Duration != tc.want.Duration || len(opts.Flags) != 0 {
				t.Errorf("opts %+v, want %+v", opts, tc.want)
			}
			if strings.Join(files, " ") != strings.Join(tc.files, " ") {
				t.Errorf("sched files %q, want %q", files, tc.files)
			}
		})
	}
}
