package extract_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bondingai/platform/shared/extract"
)

// fuzzExtensions are the file name extensions the fuzz target picks from.
var fuzzExtensions = []string{".pdf", ".docx", ".html", ".md", ".txt", ""}

// FuzzExtract runs arbitrary bytes under each extension through the real
// Extractor, PDFium included. Extract must not panic or hang, a failure
// must be an *extract.Error with a known reason, and a success must hold
// text.
func FuzzExtract(f *testing.F) {
	extractor, err := extract.New(extract.Config{
		CacheDir:   filepath.Join(os.TempDir(), "bondingai-test-pdfium"),
		PDFWorkers: 1,
		Timeout:    10 * time.Second,
		MaxPages:   50,
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = extractor.Close() })

	for _, path := range []string{"../../testdata/extract/plain.pdf", "../../testdata/hostile/truncated.pdf", "../../testdata/hostile/external_entity.docx"} {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, uint8(0))
		f.Add(data, uint8(1))
	}
	f.Add(minimalDOCX(f, `<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Hello</w:t></w:r></w:p></w:body></w:document>`), uint8(1))
	f.Add([]byte("<!doctype html><html><body><h1>Title</h1><table><tr><td>a</td></tr></table></body></html>"), uint8(2))
	f.Add([]byte("# Heading\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```\ncode\n```\n"), uint8(3))
	f.Add([]byte("\xff\xfeh\x00i\x00"), uint8(4))
	f.Add([]byte("%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"), uint8(5))
	f.Add([]byte{}, uint8(4))

	reasons := []error{extract.ErrNoText, extract.ErrEncrypted, extract.ErrUnsupportedFormat, extract.ErrCorrupt, extract.ErrTooLarge}
	f.Fuzz(func(t *testing.T, data []byte, extension uint8) {
		filename := "fuzz" + fuzzExtensions[int(extension)%len(fuzzExtensions)]
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()

		doc, err := extractor.Extract(ctx, filename, data)
		if err != nil {
			var extractErr *extract.Error
			if !errors.As(err, &extractErr) {
				t.Fatalf("Extract(%s) returned %T %v, want an *extract.Error", filename, err, err)
			}
			known := false
			for _, reason := range reasons {
				known = known || errors.Is(extractErr.Reason, reason)
			}
			if !known {
				t.Fatalf("Extract(%s) failed with unknown reason %v", filename, extractErr.Reason)
			}
			return
		}
		if doc == nil || len(doc.Pages) == 0 {
			t.Fatalf("Extract(%s) succeeded without pages", filename)
		}
	})
}

func minimalDOCX(f *testing.F, documentXML string) []byte {
	var buf bytes.Buffer
	archive := zip.NewWriter(&buf)
	for name, content := range map[string]string{
		"[Content_Types].xml": `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`,
		"word/document.xml":   documentXML,
	} {
		part, err := archive.Create(name)
		if err != nil {
			f.Fatal(err)
		}
		if _, err := part.Write([]byte(content)); err != nil {
			f.Fatal(err)
		}
	}
	if err := archive.Close(); err != nil {
		f.Fatal(err)
	}
	return buf.Bytes()
}
