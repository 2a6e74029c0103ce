package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"time"
)

// JUnit XML, the test report format CI systems read (Jenkins, GitLab,
// GitHub test reporters): one <testsuite> of <testcase>s, each passing,
// failed (<failure>: the scheduler failed its checks), errored (<error>:
// could not test) or skipped.

type junitSuite struct {
	XMLName   xml.Name    `xml:"testsuite"`
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

// junitOutcome is how a case ended.
type junitOutcome int

const (
	junitPass junitOutcome = iota
	junitFailure
	junitError
	junitSkip
)

// add appends a case; message is its one-line reason, detail the rest.
func (s *junitSuite) add(name string, took time.Duration, outcome junitOutcome, message, detail string) {
	c := junitCase{Name: name, Classname: s.Name, Time: seconds(took)}
	m := &junitMessage{Message: oneLine(message, 500), Body: detail}
	switch outcome {
	case junitFailure:
		c.Failure = m
		s.Failures++
	case junitError:
		c.Error = m
		s.Errors++
	case junitSkip:
		c.Skipped = m
		s.Skipped++
	default:
		c.SystemOut = detail
	}
	s.Cases = append(s.Cases, c)
	s.Tests++
}

// write stores the suite at path (temp file + rename: never half a file).
func (s *junitSuite) write(path string, took time.Duration, started time.Time) error {
	s.Time = seconds(took)
	s.Timestamp = started.UTC().Format(time.RFC3339)
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("encoding JUnit XML: %w", err)
	}
	b.WriteString("\n")
	if err := writeFileAtomic(path, b.Bytes()); err != nil {
		return fmt.Errorf("--junit: %w", err)
	}
	return nil
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
