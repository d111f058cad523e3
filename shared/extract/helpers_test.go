package extract

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Real documents shared by every package's tests, and the generated
// fixtures of this package.
const (
	documentsDir   = "../../testdata/documents"
	fixturesDir    = "../../testdata/extract"
	handbookPDF    = documentsDir + "/contoso_employee_handbook.pdf"
	expensesDOCX   = documentsDir + "/expenses_policy.docx"
	questionsJSONL = "../../testdata/documents/questions.jsonl"
	wazeroCacheDir = "../../.local/cache/wazero"
)

// newTestExtractor starts an Extractor that shares the repository's wazero
// cache, so only the first test run compiles PDFium.
func newTestExtractor(t testing.TB, cfg Config) *Extractor {
	t.Helper()
	if cfg.CacheDir == "" {
		cfg.CacheDir = wazeroCacheDir
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

// readFile returns the bytes of path or stops the test.
func readFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return data
}

// extractFile extracts the file at path under its own name.
func extractFile(t testing.TB, e *Extractor, path string) *Document {
	t.Helper()
	doc, err := e.Extract(context.Background(), filepath.Base(path), readFile(t, path))
	if err != nil {
		t.Fatalf("Extract(%s): %v", path, err)
	}
	return doc
}

// wantReason checks that err is an *Error with the given reason.
func wantReason(t testing.TB, err, reason error) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", reason)
	}
	var extractErr *Error
	if !errors.As(err, &extractErr) {
		t.Fatalf("got %T %v, want *extract.Error", err, err)
	}
	if !errors.Is(err, reason) {
		t.Fatalf("got reason %v (cause %v), want %v", extractErr.Reason, extractErr.Err, reason)
	}
}

// blocksOf returns every block of doc with the number of its page.
func blocksOf(doc *Document) []struct {
	page  int
	block Block
} {
	var out []struct {
		page  int
		block Block
	}
	for _, p := range doc.Pages {
		for _, b := range p.Blocks {
			out = append(out, struct {
				page  int
				block Block
			}{p.Number, b})
		}
	}
	return out
}

// pageContaining returns the numbers of the pages whose text has phrase.
func pagesContaining(doc *Document, phrase string) []int {
	var pages []int
	for _, p := range doc.Pages {
		if strings.Contains(p.Text(), phrase) {
			pages = append(pages, p.Number)
		}
	}
	return pages
}
