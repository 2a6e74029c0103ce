package results

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"time"

	"github.com/ktstr-go/ktstr/verdict"
)

// Index is index.json: the runs of a multi-run directory (a matrix).
type Index struct {
	Schema  int         `json:"schema"`
	Title   string      `json:"title"`
	Created time.Time   `json:"created"`
	Cases   []IndexCase `json:"cases"`
}

// IndexCase is one run of a multi-run directory.
type IndexCase struct {
	Name string `json:"name"`
	// Dir is the run's directory, relative to the index.
	Dir string `json:"dir"`
	// Expected is the verdict the case should get, when it has one;
	// Match says whether it got it.
	Expected string `json:"expected,omitempty"`
	Match    *bool  `json:"match,omitempty"`
	// Filled in by WriteIndex from the case's result.json; Missing says
	// why there is none (the run could not start).
	Verdict    verdict.Verdict `json:"verdict"`
	Dimensions Dimensions      `json:"dimensions"`
	VM         time.Duration   `json:"vm"`
	Reasons    []string        `json:"reasons,omitempty"`
	Missing    string          `json:"missing,omitempty"`
}

// Outcome says how the case went against its expectation: "match",
// "mismatch", or "" when it had none.
func (c IndexCase) Outcome() string {
	switch {
	case c.Match == nil:
		return ""
	case *c.Match:
		return "match"
	}
	return "mismatch"
}

//go:embed index.html.tmpl
var indexTmpl string

var indexPage = template.Must(template.New("index").Funcs(template.FuncMap{
	"secs": secs,
	"css":  func() template.CSS { return template.CSS(styleCSS) },
}).Parse(indexTmpl))

// WriteIndex writes index.json and index.html into dir for cases, whose
// runs are subdirectories of dir. Each file is written to a temporary
// name and renamed, so a reader sees the old index or the new one.
func WriteIndex(dir, title string, cases []IndexCase) error {
	idx := &Index{Schema: metricsSchema, Title: title, Created: time.Now().UTC()}
	for _, c := range cases {
		res := &Result{}
		if err := readJSON(filepath.Join(dir, c.Dir, FileResult), res); err != nil {
			c.Verdict, c.Missing = verdict.Fail, "no result: the run did not complete"
		} else {
			c.Verdict, c.Dimensions, c.VM, c.Reasons = res.Verdict, res.Dimensions, res.Timings.VM, res.Reasons
		}
		idx.Cases = append(idx.Cases, c)
	}
	js, err := indentJSON(idx)
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	var page bytes.Buffer
	if err := indexPage.Execute(&page, idx); err != nil {
		return fmt.Errorf("results: rendering %s: %w", FileIndexHTML, err)
	}
	if err := writeFileAtomic(filepath.Join(dir, FileIndexHTML), page.Bytes()); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, FileIndex), js)
}

// readIndexIfAny reads dir's index.json; nil when there is none.
func readIndexIfAny(dir string) *Index {
	idx := &Index{}
	if readJSON(filepath.Join(dir, FileIndex), idx) != nil {
		return nil
	}
	return idx
}

// writeFileAtomic writes b to a temporary file beside path and renames it.
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("results: writing %s: %w", path, err)
	}
	return nil
}
