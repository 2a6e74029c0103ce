package vmm

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"time"
)

// qmpRIPs asks a running QEMU, over its QMP socket, where each vCPU is:
// the instruction pointer of every CPU, in CPU order. It is how a VM the
// watchdog kills gets the same "where was it" detail the in-repo VMM
// reads from KVM_GET_REGS.
func qmpRIPs(sock string, timeout time.Duration) ([]uint64, error) {
	conn, err := net.DialTimeout("unix", sock, timeout)
	if err != nil {
		return nil, fmt.Errorf("qmp: %w", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	dec, enc := json.NewDecoder(conn), json.NewEncoder(conn)
	var greeting map[string]json.RawMessage
	if err := dec.Decode(&greeting); err != nil {
		return nil, fmt.Errorf("qmp greeting: %w", err)
	}
	if _, err := qmpCall(dec, enc, "qmp_capabilities", nil); err != nil {
		return nil, err
	}
	// QMP has no register query; HMP's, through QMP, comes back as plain
	// text without the terminal echo of the HMP socket.
	ret, err := qmpCall(dec, enc, "human-monitor-command", map[string]string{"command-line": "info registers -a"})
	if err != nil {
		return nil, err
	}
	var text string
	if err := json.Unmarshal(ret, &text); err != nil {
		return nil, fmt.Errorf("qmp: info registers: %w", err)
	}
	rips := parseRIPs(text)
	if len(rips) == 0 {
		return nil, errors.New("qmp: info registers showed no instruction pointer")
	}
	return rips, nil
}

// qmpCall sends one command and returns its "return" value, skipping the
// asynchronous events QEMU may send in between.
func qmpCall(dec *json.Decoder, enc *json.Encoder, cmd string, args any) (json.RawMessage, error) {
	req := map[string]any{"execute": cmd}
	if args != nil {
		req["arguments"] = args
	}
	if err := enc.Encode(req); err != nil {
		return nil, fmt.Errorf("qmp %s: %w", cmd, err)
	}
	for {
		var resp struct {
			Return json.RawMessage `json:"return"`
			Error  *struct {
				Desc string `json:"desc"`
			} `json:"error"`
			Event string `json:"event"`
		}
		if err := dec.Decode(&resp); err != nil {
			return nil, fmt.Errorf("qmp %s: %w", cmd, err)
		}
		switch {
		case resp.Event != "":
			continue
		case resp.Error != nil:
			return nil, fmt.Errorf("qmp %s: %s", cmd, resp.Error.Desc)
		}
		return resp.Return, nil
	}
}

// ripRE matches the instruction pointer in QEMU's x86 register dump:
// RIP= in 64-bit mode, EIP= before it.
var ripRE = regexp.MustCompile(`(?m)^(?:RIP|EIP)=([0-9a-f]+)`)

// parseRIPs reads the instruction pointers out of "info registers -a",
// which prints one block per CPU in CPU order.
func parseRIPs(text string) []uint64 {
	var rips []uint64
	for _, m := range ripRE.FindAllStringSubmatch(text, -1) {
		v, err := strconv.ParseUint(m[1], 16, 64)
		if err != nil {
			continue
		}
		rips = append(rips, v)
	}
	return rips
}
