package qemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/vmm"
)

// qmpVCPUs asks a running QEMU, over its QMP socket, where each vCPU is:
// instruction and stack pointer, and the stack words above it, in CPU
// order. It is how a VM the watchdog kills gets the "where was it"
// detail the in-repo VMM reads with KVM_GET_REGS.
func qmpVCPUs(sock string, timeout time.Duration) ([]vmm.VCPUState, error) {
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
	// QMP has no register or memory query; HMP's, through QMP, come back
	// as plain text without the terminal echo of an HMP socket.
	text, err := qmpHMP(dec, enc, "info registers -a", -1)
	if err != nil {
		return nil, err
	}
	vcpus := parseRegisters(text)
	if len(vcpus) == 0 {
		return nil, errors.New("qmp: info registers showed no instruction pointer")
	}
	for i := range vcpus {
		// The stack through the vCPU's own page tables; a failure (a
		// user or unmapped RSP) leaves it out.
		dump, err := qmpHMP(dec, enc, fmt.Sprintf("x /%dgx %#x", vmm.StackWords, vcpus[i].RSP), i)
		if err != nil {
			break
		}
		vcpus[i].Stack = parseMemoryDump(dump)
	}
	return vcpus, nil
}

// qmpHMP runs one HMP command through QMP on a CPU (cpu < 0: the
// monitor's current one) and returns its text output.
func qmpHMP(dec *json.Decoder, enc *json.Encoder, command string, cpu int) (string, error) {
	args := map[string]any{"command-line": command}
	if cpu >= 0 {
		args["cpu-index"] = cpu
	}
	ret, err := qmpCall(dec, enc, "human-monitor-command", args)
	if err != nil {
		return "", err
	}
	var text string
	if err := json.Unmarshal(ret, &text); err != nil {
		return "", fmt.Errorf("qmp: %s: %w", command, err)
	}
	return text, nil
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

// QEMU's x86 register dump names the pointers RIP and RSP in 64-bit
// mode, EIP and ESP before it; one block per CPU, in CPU order.
var (
	ripRE = regexp.MustCompile(`(?m)^(?:RIP|EIP)=([0-9a-f]+)`)
	rspRE = regexp.MustCompile(`\b(?:RSP|ESP)=([0-9a-f]+)`)
	// A line of "x /Ngx ADDR": "ffffc90000013e58: 0x0000000000000000 0xffffffff81234567".
	wordRE = regexp.MustCompile(`\b0x([0-9a-f]{16})\b`)
)

// parseRegisters reads instruction and stack pointers out of "info
// registers -a". The stack pointers are dropped unless there is one per
// instruction pointer.
func parseRegisters(text string) []vmm.VCPUState {
	rips, rsps := hexMatches(ripRE, text), hexMatches(rspRE, text)
	vcpus := make([]vmm.VCPUState, len(rips))
	for i, r := range rips {
		vcpus[i].RIP = r
		if len(rsps) == len(rips) {
			vcpus[i].RSP = rsps[i]
		}
	}
	return vcpus
}

// parseMemoryDump reads the words of an "x /Ngx" dump, in address order.
func parseMemoryDump(text string) []uint64 {
	var words []uint64
	for _, line := range strings.Split(text, "\n") {
		_, vals, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		words = append(words, hexMatches(wordRE, vals)...)
	}
	return words
}

func hexMatches(re *regexp.Regexp, text string) []uint64 {
	var out []uint64
	for _, m := range re.FindAllStringSubmatch(text, -1) {
		// The patterns admit only hex digits, at most 16 of them.
		v, _ := strconv.ParseUint(m[1], 16, 64)
		out = append(out, v)
	}
	return out
}
