package scenario

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/ktstr-go/ktstr/verdict"
)

// CaseResult is one TAP result of a payload: a test case with its
// verdict and the output printed before it.
type CaseResult struct {
	Num     int             `json:"num"`
	Name    string          `json:"name"`
	Verdict verdict.Verdict `json:"verdict"`
	// Directive is what followed '#': "SKIP reason", "TODO ...".
	Directive string `json:"directive,omitempty"`
	// Output is what the program printed since the previous result (the
	// kselftest convention: diagnostics come before their result line).
	Output string `json:"output,omitempty"`
}

var (
	// tapResult is "ok 3 name # directive" or "not ok 3 - name".
	tapResult = regexp.MustCompile(`^(not ok|ok)\b\s*(\d+)?\s*(?:-\s+)?(.*)$`)
	tapPlan   = regexp.MustCompile(`^1\.\.(\d+)`)
)

// maxCaseOutput bounds the output kept per case.
const maxCaseOutput = 8 << 10

// parseTAP reads TAP results. Lines that are not TAP are the next case's
// output; a line that starts like a result but is not one, a "Bail out!",
// a plan the results do not meet, or no results at all are errors.
func parseTAP(out []byte) ([]CaseResult, int, error) {
	var cases []CaseResult
	plan := -1
	var pending []string
	for i, raw := range lines(out) {
		line := strings.TrimRight(raw, " \t")
		trimmed := strings.TrimLeft(line, " \t")
		switch {
		case strings.HasPrefix(trimmed, "Bail out!"):
			return cases, plan, &ParseError{Line: i + 1, Text: raw, Why: "the program bailed out"}
		case strings.HasPrefix(trimmed, "TAP version"):
			continue
		case tapPlan.MatchString(trimmed) && trimmed == line:
			plan, _ = strconv.Atoi(tapPlan.FindStringSubmatch(trimmed)[1])
			continue
		}
		// Indented results are subtests of a nested TAP stream: output.
		if line != trimmed || !(strings.HasPrefix(line, "ok") || strings.HasPrefix(line, "not ok")) {
			pending = append(pending, raw)
			continue
		}
		m := tapResult.FindStringSubmatch(line)
		if m == nil || m[2] == "" {
			return cases, plan, &ParseError{Line: i + 1, Text: raw, Why: `a TAP result needs "ok N name" or "not ok N name"`}
		}
		c := CaseResult{Verdict: verdict.Pass}
		c.Num, _ = strconv.Atoi(m[2])
		name, directive, _ := strings.Cut(m[3], "#")
		c.Name, c.Directive = strings.TrimSpace(name), strings.TrimSpace(directive)
		if c.Name == "" {
			c.Name = "case " + m[2]
		}
		upper := strings.ToUpper(c.Directive)
		switch {
		case strings.HasPrefix(upper, "SKIP"):
			c.Verdict = verdict.Skip
		case m[1] == "not ok" && strings.HasPrefix(upper, "TODO"):
			c.Verdict = verdict.Skip // an expected failure
		case m[1] == "not ok":
			c.Verdict = verdict.Fail
		}
		c.Output = keepTail(strings.Join(pending, "\n"), maxCaseOutput)
		pending = pending[:0]
		cases = append(cases, c)
	}
	switch {
	case len(cases) == 0:
		first := ""
		if ls := lines(out); len(ls) > 0 {
			first = ls[0]
		}
		return nil, plan, &ParseError{Line: 1, Text: first, Why: "no TAP result (\"ok N name\") in the output"}
	case plan >= 0 && plan != len(cases):
		return cases, plan, &ParseError{Why: fmt.Sprintf("TAP plan 1..%d but %d results: the program stopped early or miscounted", plan, len(cases))}
	}
	return cases, plan, nil
}

// keepTail keeps the last max bytes of s, on a line boundary.
func keepTail(s string, max int) string {
	if len(s) <= max {
		return s
	}
	s = s[len(s)-max:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return "[...]\n" + s
}
