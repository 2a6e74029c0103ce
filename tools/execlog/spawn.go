package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// spawn is the part of Bazel's SpawnExec (src/main/protobuf/spawn.proto)
// this tool reads, as the JSON execution log writes it.
type spawn struct {
	Mnemonic        string `json:"mnemonic"`
	Runner          string `json:"runner"`
	RemoteCacheHit  bool   `json:"remoteCacheHit"`
	ProgressMessage string `json:"progressMessage"`
	ExitCode        int    `json:"exitCode"`
	Platform        struct {
		Properties []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"properties"`
	} `json:"platform"`
	CommandArgs []string `json:"commandArgs"`
}

// decode reads the log: a stream of JSON objects, one per spawn.
func decode(r io.Reader) ([]spawn, error) {
	dec := json.NewDecoder(r)
	var out []spawn
	for {
		var s spawn
		err := dec.Decode(&s)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("spawn %d: %w", len(out)+1, err)
		}
		out = append(out, s)
	}
}

// where says how the spawn's result was obtained: "remote" (executed by
// the remote executor), "remote cache hit", "local", "linux-sandbox", ...
func (s spawn) where() string {
	if s.RemoteCacheHit {
		return "remote cache hit"
	}
	if s.Runner == "" {
		return "unknown"
	}
	return s.Runner
}

// target is the test label of a TestRunner spawn ("Testing //pkg:name"),
// else its progress message.
func (s spawn) target() string {
	if t, ok := strings.CutPrefix(s.ProgressMessage, "Testing "); ok {
		return t
	}
	if s.ProgressMessage != "" {
		return s.ProgressMessage
	}
	return strings.Join(s.CommandArgs, " ")
}

// platform renders the REAPI platform the spawn asked for, e.g.
// OSFamily=linux,kvm=tcg; "-" for none.
func (s spawn) platform() string {
	var kv []string
	for _, p := range s.Platform.Properties {
		kv = append(kv, p.Name+"="+p.Value)
	}
	if len(kv) == 0 {
		return "-"
	}
	return strings.Join(kv, ",")
}
