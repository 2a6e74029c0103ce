package native

import (
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/kvm"
)

func TestCheckMSRs(t *testing.T) {
	tests := []struct {
		name    string
		got     []kvm.MSREntry
		wantErr string
	}{
		{"kept", []kvm.MSREntry{{Index: 0x1a0, Data: 1}, {Index: 0x2ff, Data: 0x806}}, ""},
		{"first value changed", []kvm.MSREntry{{Index: 0x1a0, Data: 0}, {Index: 0x2ff, Data: 0x806}}, "MSR 0x1a0: wrote 0x1, reads back 0x0"},
		{"last value changed", []kvm.MSREntry{{Index: 0x1a0, Data: 1}, {Index: 0x2ff, Data: 0x6}}, "MSR 0x2ff: wrote 0x806, reads back 0x6"},
	}
	want := []kvm.MSREntry{{Index: 0x1a0, Data: 1}, {Index: 0x2ff, Data: 0x806}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkMSRs(want, tc.got)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("checkMSRs: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("checkMSRs err %v, want %q", err, tc.wantErr)
			}
		})
	}
}
