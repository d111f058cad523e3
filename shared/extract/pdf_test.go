package extract

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"
)

// debianManualPDF is a 311-page pdfTeX manual from the Debian 12 package
// gnuplot-doc (5.4.4+dfsg1-2), a real document far longer than the
// handbook.
const (
	debianManualPDF     = "/usr/share/doc/gnuplot/gnuplot.pdf"
	debianManualPackage = "gnuplot-doc"
	debianManualPages   = 311
)

// requireDebianManual returns the manual's bytes, failing with the install
// command when the package is missing.
func requireDebianManual(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile(debianManualPDF)
	if errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s is missing; install it with: apt-get install -y %s", debianManualPDF, debianManualPackage)
	}
	if err != nil {
		t.Fatalf("read %s: %v", debianManualPDF, err)
	}
	return data
}

// question is one line of the shared questions file.
type question struct {
	Question       string `json:"question"`
	File           string `json:"file"`
	Page           *int   `json:"page"`
	AnswerContains string `json:"answer_contains"`
}

func readQuestions(t *testing.T, file string) []question {
	t.Helper()
	f, err := os.Open(questionsJSONL)
	if err != nil {
		t.Fatalf("open questions: %v", err)
	}
	defer f.Close()

	var out []question
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		var q question
		if err := json.Unmarshal(scanner.Bytes(), &q); err != nil {
			t.Fatalf("parse question %q: %v", scanner.Text(), err)
		}
		if q.File == file {
			out = append(out, q)
		}
	}
	if err := scanner.Err(); err != nil {
		t.Fatalf("read questions: %v", err)
	}
	if len(out) == 0 {
		t.Fatalf("no questions for %s", file)
	}
	return out
}

func TestExtractPDFHandbookPages(t *testing.T) {
	e := newTestExtractor(t, Config{})
	doc := extractFile(t, e, handbookPDF)

	if doc.Format != FormatPDF {
		t.Errorf("Format = %q, want %q", doc.Format, FormatPDF)
	}
	if len(doc.Pages) != 3 {
		t.Fatalf("got %d pages, want 3", len(doc.Pages))
	}
	for i, p := range doc.Pages {
		if p.Number != i+1 {
			t.Errorf("page %d has Number %d", i, p.Number)
		}
	}

	for _, q := range readQuestions(t, "contoso_employee_handbook.pdf") {
		pages := pagesContaining(doc, q.AnswerContains)
		if !slices.Contains(pages, *q.Page) {
			t.Errorf("%q: answer %q found on pages %v, want page %d", q.Question, q.AnswerContains, pages, *q.Page)
		}
	}

	// One sentence from each page, so a shifted page number cannot pass.
	for phrase, page := range map[string]int{
		"Contoso provides every employee with 20 paid vacation days":                     1,
		"If you are absent for more than three consecutive days, a medical note may be":  2,
		"Unused, accrued vacation will be paid out in accordance with local regulations": 3,
	} {
		if got := pagesContaining(doc, phrase); !slices.Equal(got, []int{page}) {
			t.Errorf("%q on pages %v, want [%d]", phrase, got, page)
		}
	}
}

func TestExtractPDFHandbookBlocks(t *testing.T) {
	e := newTestExtractor(t, Config{})
	doc := extractFile(t, e, handbookPDF)

	var items []string
	for _, b := range blocksOf(doc) {
		if b.block.Kind == ListItem {
			items = append(items, b.block.Text)
		}
		if strings.ContainsAny(b.block.Text, "\r\n") {
			t.Errorf("block on page %d keeps a line break: %q", b.page, b.block.Text)
		}
	}
	// The bullet wraps onto a second line in the PDF.
	want := "Submit vacation requests through the company’s time-off system at least two weeks in advance."
	if !slices.Contains(items, want) {
		t.Errorf("list items %q lack %q", items, want)
	}
}

func TestExtractPDFDebianManual(t *testing.T) {
	data := requireDebianManual(t)
	e := newTestExtractor(t, Config{})

	doc, err := e.Extract(context.Background(), "gnuplot.pdf", data)
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	if len(doc.Pages) != debianManualPages {
		t.Fatalf("got %d pages, want %d", len(doc.Pages), debianManualPages)
	}

	empty := 0
	for _, p := range doc.Pages {
		if len(p.Blocks) == 0 {
			empty++
		}
	}
	if empty > 0 {
		t.Errorf("%d pages have no text", empty)
	}

	phrase := "The function rand() produces a sequence of pseudo-random numbers between 0 and 1"
	if got := pagesContaining(doc, phrase); !slices.Equal(got, []int{40}) {
		t.Errorf("%q on pages %v, want [40]", phrase, got)
	}
	// "isosurface" is hyphenated across a line break on page 23.
	if got := pagesContaining(doc, "dots, points, or isosurface. See demo"); !slices.Equal(got, []int{23}) {
		t.Errorf("rejoined hyphenated word on pages %v, want [23]", got)
	}
	for _, p := range doc.Pages {
		if strings.ContainsAny(p.Text(), "\x00\x02\uFFFE") {
			t.Errorf("page %d keeps a NUL or soft-hyphen mark", p.Number)
		}
	}

	t.Run("matches pdftotext", func(t *testing.T) {
		if _, err := exec.LookPath("pdftotext"); err != nil {
			t.Skip("pdftotext not installed (Debian package poppler-utils)")
		}
		for _, page := range []int{1, 40, 150, 311} {
			out, err := exec.Command("pdftotext", "-f", strconv.Itoa(page), "-l", strconv.Itoa(page), debianManualPDF, "-").Output()
			if err != nil {
				t.Fatalf("pdftotext page %d: %v", page, err)
			}
			if recall := wordRecall(string(out), doc.Pages[page-1].Text()); recall < 0.97 {
				t.Errorf("page %d: word recall against pdftotext %.3f, want at least 0.97", page, recall)
			}
		}
	})
}

// wordRecall returns the share of reference words longer than two bytes
// that also occur in got, both in Unicode normalization form C, because
// pdftotext leaves accents decomposed.
func wordRecall(reference, got string) float64 {
	have := map[string]bool{}
	for _, w := range strings.Fields(norm.NFC.String(got)) {
		have[w] = true
	}
	total, found := 0, 0
	for _, w := range strings.Fields(norm.NFC.String(reference)) {
		if len(w) <= 2 {
			continue
		}
		total++
		if have[w] {
			found++
		}
	}
	if total == 0 {
		return 1
	}
	return float64(found) / float64(total)
}

func TestExtractPDFFixtures(t *testing.T) {
	e := newTestExtractor(t, Config{})

	t.Run("plain text", func(t *testing.T) {
		doc := extractFile(t, e, fixturesDir+"/plain.pdf")
		if got := doc.Pages[0].Text(); got != "Quarterly revenue grew by twelve percent." {
			t.Errorf("text = %q", got)
		}
	})
	t.Run("image only", func(t *testing.T) {
		_, err := e.Extract(context.Background(), "scan.pdf", readFile(t, fixturesDir+"/image_only.pdf"))
		wantReason(t, err, ErrNoText)
	})
	t.Run("only spaces", func(t *testing.T) {
		_, err := e.Extract(context.Background(), "blank.pdf", readFile(t, fixturesDir+"/blank_text.pdf"))
		wantReason(t, err, ErrNoText)
	})
	t.Run("user password", func(t *testing.T) {
		_, err := e.Extract(context.Background(), "secret.pdf", readFile(t, fixturesDir+"/encrypted.pdf"))
		wantReason(t, err, ErrEncrypted)
	})
}

func TestExtractPDFDamaged(t *testing.T) {
	e := newTestExtractor(t, Config{})
	handbook := readFile(t, handbookPDF)
	random := make([]byte, 64<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(rng.UintN(256))
	}

	cases := map[string][]byte{
		"zero bytes":         {},
		"header only":        []byte("%PDF-1.7\n"),
		"random bytes":       random,
		"random after magic": append([]byte("%PDF-1.4\n"), random...),
		"first 2 KiB":        handbook[:2048],
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := e.Extract(context.Background(), "upload.pdf", data)
			wantReason(t, err, ErrCorrupt)
		})
	}

	// A file cut in half loses its cross-reference table. PDFium rebuilds
	// it by scanning, so the surviving pages may still be read. Either
	// outcome passes: up to 3 pages of text, or ErrCorrupt.
	t.Run("first half", func(t *testing.T) {
		doc, err := e.Extract(context.Background(), "upload.pdf", handbook[:len(handbook)/2])
		if err != nil {
			wantReason(t, err, ErrCorrupt)
			return
		}
		if len(doc.Pages) == 0 || len(doc.Pages) > 3 {
			t.Errorf("got %d pages from half of a 3-page file", len(doc.Pages))
		}
	})

	// The extractor must still work after the failures above.
	if doc := extractFile(t, e, handbookPDF); len(doc.Pages) != 3 {
		t.Errorf("after damaged files: got %d pages, want 3", len(doc.Pages))
	}
}

func TestExtractPDFLimits(t *testing.T) {
	t.Run("max pages", func(t *testing.T) {
		e := newTestExtractor(t, Config{MaxPages: 2})
		_, err := e.Extract(context.Background(), "handbook.pdf", readFile(t, handbookPDF))
		wantReason(t, err, ErrTooLarge)
	})
	t.Run("max file bytes", func(t *testing.T) {
		e := newTestExtractor(t, Config{MaxFileBytes: 1024})
		_, err := e.Extract(context.Background(), "handbook.pdf", readFile(t, handbookPDF))
		wantReason(t, err, ErrTooLarge)
	})
	t.Run("pdfium memory", func(t *testing.T) {
		e := newTestExtractor(t, Config{MaxPDFMemoryBytes: 32 << 20})
		plain := readFile(t, fixturesDir+"/plain.pdf")
		// Comment lines after the end of the file still have to be copied
		// into the instance's memory.
		padded := append(bytes.Clone(plain), bytes.Repeat([]byte("%padding\n"), 5<<20)...)
		_, err := e.Extract(context.Background(), "padded.pdf", padded)
		wantReason(t, err, ErrTooLarge)

		if _, err := e.Extract(context.Background(), "plain.pdf", plain); err != nil {
			t.Errorf("Extract after running out of memory: %v", err)
		}
	})
	t.Run("timeout then recovery", func(t *testing.T) {
		data := requireDebianManual(t)
		// The manual takes seconds; the one-page file after it takes
		// milliseconds, with room for a loaded machine and the race detector.
		e := newTestExtractor(t, Config{Timeout: time.Second, PDFWorkers: 1})
		_, err := e.Extract(context.Background(), "gnuplot.pdf", data)
		wantReason(t, err, ErrTooLarge)
		if !errors.Is(err, errTimeout) {
			t.Errorf("error %v does not name the timeout", err)
		}

		// The killed instance must have gone back to the pool: with one
		// worker, a leak would block this call until its own timeout.
		doc, err := e.Extract(context.Background(), "plain.pdf", readFile(t, fixturesDir+"/plain.pdf"))
		if err != nil {
			t.Fatalf("Extract after timeout: %v", err)
		}
		if len(doc.Pages) != 1 {
			t.Errorf("got %d pages, want 1", len(doc.Pages))
		}
	})
	t.Run("wait for instance is not extraction time", func(t *testing.T) {
		const timeout = time.Second
		e := newTestExtractor(t, Config{Timeout: timeout, PDFWorkers: 1})
		busyInstance, err := e.pdf.pool.GetInstanceWithContext(context.Background())
		if err != nil {
			t.Fatalf("hold the only instance: %v", err)
		}

		plain := readFile(t, fixturesDir+"/plain.pdf")
		done := make(chan error, 1)
		go func() {
			_, err := e.Extract(context.Background(), "plain.pdf", plain)
			done <- err
		}()
		select {
		case err := <-done:
			t.Fatalf("Extract returned %v while no instance was free", err)
		case <-time.After(2 * timeout):
		}

		if err := busyInstance.Close(); err != nil {
			t.Fatalf("release the instance: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Extract after waiting %s for an instance: %v", 2*timeout, err)
		}
	})
	t.Run("caller cancel", func(t *testing.T) {
		e := newTestExtractor(t, Config{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := e.Extract(ctx, "handbook.pdf", readFile(t, handbookPDF))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
		var extractErr *Error
		if errors.As(err, &extractErr) {
			t.Errorf("cancellation reported as a file problem: %v", err)
		}
	})
}

func TestExtractPDFConcurrent(t *testing.T) {
	e := newTestExtractor(t, Config{PDFWorkers: 2})
	data := readFile(t, handbookPDF)
	want := extractFile(t, e, handbookPDF)

	const callers = 6
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			doc, err := e.Extract(context.Background(), "handbook.pdf", data)
			if err != nil {
				errs <- err
				return
			}
			for i := range doc.Pages {
				if doc.Pages[i].Text() != want.Pages[i].Text() {
					errs <- errors.New("page text differs between concurrent extractions")
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	cases := map[string]Config{
		"MaxPages":          {MaxPages: -1},
		"Timeout":           {Timeout: -time.Second},
		"MaxPDFMemoryBytes": {MaxPDFMemoryBytes: 1 << 20},
	}
	for field, cfg := range cases {
		t.Run(field, func(t *testing.T) {
			_, err := New(cfg)
			if err == nil || !strings.Contains(err.Error(), field) {
				t.Fatalf("got %v, want an error naming %s", err, field)
			}
		})
	}
}

func BenchmarkExtractPDFDebianManual(b *testing.B) {
	data := requireDebianManual(b)
	e := newTestExtractor(b, Config{})
	b.SetBytes(int64(len(data)))
	b.ResetTimer()

	pages := 0
	for b.Loop() {
		doc, err := e.Extract(context.Background(), "gnuplot.pdf", data)
		if err != nil {
			b.Fatal(err)
		}
		pages += len(doc.Pages)
	}
	b.ReportMetric(float64(pages)/b.Elapsed().Seconds(), "pages/s")
}

func BenchmarkExtractPDFDebianManualParallel(b *testing.B) {
	data := requireDebianManual(b)
	e := newTestExtractor(b, Config{})
	var mu sync.Mutex
	pages := 0
	b.ResetTimer()

	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			doc, err := e.Extract(context.Background(), "gnuplot.pdf", data)
			if err != nil {
				b.Error(err)
				return
			}
			mu.Lock()
			pages += len(doc.Pages)
			mu.Unlock()
		}
	})
	b.ReportMetric(float64(pages)/b.Elapsed().Seconds(), "pages/s")
}
