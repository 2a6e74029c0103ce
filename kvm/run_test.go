package kvm

import (
	"encoding/binary"
	"strings"
	"testing"
)

// fakeIOExit returns a vCPU whose kvm_run page (size bytes) holds a
// KVM_EXIT_IO with the given fields, as the kernel would fill it.
func fakeIOExit(size int, out bool, width uint8, port uint16, count uint32, dataOff uint64) *VCPU {
	run := make([]byte, size)
	binary.LittleEndian.PutUint32(run[runExitReason:], uint32(ExitIO))
	u := run[runUnion:]
	if out {
		u[0] = 1
	}
	u[1] = width
	binary.LittleEndian.PutUint16(u[2:], port)
	binary.LittleEndian.PutUint32(u[4:], count)
	binary.LittleEndian.PutUint64(u[8:], dataOff)
	return &VCPU{ID: 3, run: run}
}

func TestIOData(t *testing.T) {
	const page = 4096
	tests := []struct {
		name    string
		width   uint8
		count   uint32
		off     uint64
		wantLen int
		wantErr string
	}{
		{"one byte", 1, 1, 0x1000 - 1, 1, ""},
		{"string IO filling the page", 4, 256, page - 1024, 1024, ""},
		{"zero count", 2, 0, page, 0, ""},
		{"offset past the page", 1, 1, page, 0, "overflow"},
		{"data running off the page", 2, 4, page - 7, 0, "overflow"},
		{"offset that wraps", 1, 2, ^uint64(0), 0, "overflow"},
		{"huge count", 4, ^uint32(0), 64, 0, "overflow"},
		{"zero width", 0, 1, 64, 0, "access size 0"},
		{"odd width", 3, 1, 64, 0, "access size 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := fakeIOExit(page, true, tc.width, 0x3f8, tc.count, tc.off)
			if r := c.Exit(); r != ExitIO {
				t.Fatalf("Exit() = %s", r)
			}
			io := c.IO()
			if !io.Out || io.Port != 0x3f8 || io.Size != int(tc.width) || io.Count != int(tc.count) {
				t.Fatalf("IO() = %+v", io)
			}
			data, err := c.IOData(io)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("IOData err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("IOData: %v", err)
			}
			if len(data) != tc.wantLen {
				t.Fatalf("IOData has %d bytes, want %d", len(data), tc.wantLen)
			}
			if len(data) > 0 {
				// The slice must alias the run page at the data offset.
				data[0] = 0xab
				if c.run[tc.off] != 0xab {
					t.Errorf("IOData does not alias kvm_run at offset %#x", tc.off)
				}
			}
		})
	}
}
