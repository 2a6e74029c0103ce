package scenario

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// FormatKind names how a payload's output is read.
type FormatKind string

// Output formats.
const (
	// FormatNone reads nothing: the exit status is the verdict.
	FormatNone FormatKind = ""
	// FormatJSON is one JSON document, or JSON lines (one object a line).
	FormatJSON FormatKind = "json"
	// FormatKeyValue is lines of key<separator>value; '#' starts a
	// comment line.
	FormatKeyValue FormatKind = "key_value"
	// FormatRegexp picks numbers out of free-form lines with regular
	// expressions whose named groups are the metrics.
	FormatRegexp FormatKind = "regexp"
	// FormatTAP is the Test Anything Protocol as kselftest prints it:
	// each "ok N name" / "not ok N name" (# SKIP) is a case.
	FormatTAP FormatKind = "tap"
)

// OutputFormat says how to read a payload's output (stdout and stderr,
// interleaved as written).
type OutputFormat struct {
	Kind FormatKind `json:"kind,omitempty"`
	// Separator of FormatKeyValue ("=" when empty).
	Separator string `json:"separator,omitempty"`
	// Patterns of FormatRegexp; every line is tried against each.
	Patterns []string `json:"patterns,omitempty"`
}

// JSONOutput reads a JSON document or JSON lines; Metric.Key is a dotted
// path ("latency.p99", "jobs.0.ops").
func JSONOutput() OutputFormat { return OutputFormat{Kind: FormatJSON} }

// KeyValueOutput reads key=value lines ("" separator: "=").
func KeyValueOutput(sep string) OutputFormat {
	return OutputFormat{Kind: FormatKeyValue, Separator: sep}
}

// RegexpOutput reads metrics from named groups of patterns, e.g.
// `Time: (?P<time>[0-9.]+)`.
func RegexpOutput(patterns ...string) OutputFormat {
	return OutputFormat{Kind: FormatRegexp, Patterns: patterns}
}

// TAPOutput reads TAP / kselftest results, one case per result line.
func TAPOutput() OutputFormat { return OutputFormat{Kind: FormatTAP} }

// ParseError is output a payload's format could not read: which line
// and why.
type ParseError struct {
	Line int    // 1-based; 0 when the problem is the output as a whole
	Text string // the line
	Why  string
}

func (e *ParseError) Error() string {
	if e.Line == 0 {
		return e.Why
	}
	return fmt.Sprintf("line %d %q: %s", e.Line, e.Text, e.Why)
}

// parsed is what a format read from the output.
type parsed struct {
	samples map[string][]float64 // by key
	cases   []CaseResult
	plan    int // TAP plan, -1 when none
}

// validate reports a format that cannot work.
func (f OutputFormat) validate(metrics []Metric) error {
	switch f.Kind {
	case FormatNone, FormatJSON, FormatKeyValue, FormatTAP:
	case FormatRegexp:
		if len(f.Patterns) == 0 {
			return errors.New("regexp output needs at least one pattern with a named group, e.g. `Time: (?P<time>[0-9.]+)`")
		}
		var groups []string
		for _, p := range f.Patterns {
			re, err := regexp.Compile(p)
			if err != nil {
				return fmt.Errorf("pattern %q: %w", p, err)
			}
			groups = append(groups, re.SubexpNames()...)
		}
		for _, m := range metrics {
			if !slices.Contains(groups, m.key()) {
				return fmt.Errorf("metric %s: no pattern has a group named %q (add (?P<%s>...))", m.Name, m.key(), m.key())
			}
		}
	default:
		return fmt.Errorf("unknown output format %q (want json, key_value, regexp or tap)", f.Kind)
	}
	if f.Kind == FormatNone && len(metrics) > 0 {
		return errors.New("metrics need an output format to read them from (JSONOutput, KeyValueOutput, RegexpOutput)")
	}
	return nil
}

// parse reads out; wanted are the metric keys to collect.
func (f OutputFormat) parse(out []byte, wanted []string) (parsed, error) {
	p := parsed{samples: map[string][]float64{}, plan: -1}
	var err error
	switch f.Kind {
	case FormatJSON:
		err = parseJSON(out, wanted, p.samples)
	case FormatKeyValue:
		sep := f.Separator
		if sep == "" {
			sep = "="
		}
		err = parseKeyValue(out, sep, wanted, p.samples)
	case FormatRegexp:
		err = parseRegexp(out, f.Patterns, wanted, p.samples)
	case FormatTAP:
		p.cases, p.plan, err = parseTAP(out)
	}
	return p, err
}

func lines(out []byte) []string {
	s := strings.ReplaceAll(string(out), "\r\n", "\n")
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// leadingNumber reads the number a value starts with ("12.5ms" is 12.5):
// programs print units glued to numbers.
func leadingNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	end := 0
	for end < len(s) && (unicode.IsDigit(rune(s[end])) || strings.ContainsRune("+-.eE", rune(s[end]))) {
		end++
	}
	for ; end > 0; end-- {
		if v, err := strconv.ParseFloat(s[:end], 64); err == nil {
			return v, true
		}
	}
	return 0, false
}

func parseKeyValue(out []byte, sep string, wanted []string, samples map[string][]float64) error {
	for i, line := range lines(out) {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		k, v, ok := strings.Cut(t, sep)
		if !ok {
			return &ParseError{Line: i + 1, Text: line, Why: fmt.Sprintf("not key%svalue", sep)}
		}
		k = strings.TrimSpace(k)
		if !slices.Contains(wanted, k) {
			continue
		}
		x, ok := leadingNumber(v)
		if !ok {
			return &ParseError{Line: i + 1, Text: line, Why: fmt.Sprintf("value of %s is not a number", k)}
		}
		samples[k] = append(samples[k], x)
	}
	return nil
}

func parseRegexp(out []byte, patterns []string, wanted []string, samples map[string][]float64) error {
	res := make([]*regexp.Regexp, len(patterns))
	for i, p := range patterns {
		res[i] = regexp.MustCompile(p) // validated before the run
	}
	for i, line := range lines(out) {
		for _, re := range res {
			m := re.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			for g, name := range re.SubexpNames() {
				if name == "" || !slices.Contains(wanted, name) || m[g] == "" {
					continue
				}
				x, ok := leadingNumber(m[g])
				if !ok {
					return &ParseError{Line: i + 1, Text: line, Why: fmt.Sprintf("group %s matched %q, not a number", name, m[g])}
				}
				samples[name] = append(samples[name], x)
			}
		}
	}
	return nil
}

func parseJSON(out []byte, wanted []string, samples map[string][]float64) error {
	trimmed := bytes.TrimSpace(out)
	if len(trimmed) == 0 {
		return &ParseError{Why: "no output to read as JSON"}
	}
	var docs []any
	var whole any
	if err := json.Unmarshal(trimmed, &whole); err == nil {
		docs = []any{whole}
	} else {
		// JSON lines: every non-blank line is a document.
		for i, line := range lines(out) {
			if strings.TrimSpace(line) == "" {
				continue
			}
			var d any
			if err := json.Unmarshal([]byte(line), &d); err != nil {
				return &ParseError{Line: i + 1, Text: line, Why: fmt.Sprintf("not JSON: %v", err)}
			}
			docs = append(docs, d)
		}
	}
	for _, d := range docs {
		for _, k := range wanted {
			v, ok := jsonPath(d, k)
			if !ok {
				continue
			}
			switch x := v.(type) {
			case float64:
				samples[k] = append(samples[k], x)
			case string:
				n, ok := leadingNumber(x)
				if !ok {
					return &ParseError{Why: fmt.Sprintf("JSON %s is %q, not a number", k, x)}
				}
				samples[k] = append(samples[k], n)
			default:
				return &ParseError{Why: fmt.Sprintf("JSON %s is %T, not a number", k, v)}
			}
		}
	}
	return nil
}

// jsonPath follows a dotted path of object keys and array indexes.
func jsonPath(v any, path string) (any, bool) {
	for _, part := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[part]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}
