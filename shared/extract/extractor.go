package extract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
)

// errTimeout is the cause recorded when an extraction runs past
// Config.Timeout, to tell it apart from the caller cancelling ctx.
var errTimeout = errors.New("extraction timed out")

// Extractor reads uploaded files into Documents. It is safe for concurrent
// use; PDF extractions beyond Config.PDFWorkers wait for a free instance.
type Extractor struct {
	cfg Config
	pdf *pdfEngine
}

// New starts an Extractor. It compiles PDFium (or loads it from
// cfg.CacheDir), so it takes seconds on a cold cache. Call Close to release
// the PDFium instances.
func New(cfg Config) (*Extractor, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}

	pdf, err := newPDFEngine(cfg.CacheDir, cfg.PDFWorkers, cfg.MaxPDFMemoryBytes)
	if err != nil {
		return nil, fmt.Errorf("start extractor: %w", err)
	}
	return &Extractor{cfg: cfg, pdf: pdf}, nil
}

// Close stops the PDFium instances. The Extractor must not be used after.
func (e *Extractor) Close() error {
	if err := e.pdf.close(); err != nil {
		return fmt.Errorf("close extractor: %w", err)
	}
	return nil
}

// Extract reads data, the content of the uploaded file filename, into a
// Document. The format comes from the content, and the file name's
// extension only selects between Markdown, HTML and plain text. A failure
// caused by the file is an *Error whose Reason is one of the Err
// sentinels, including ErrNoText when the result would hold only white
// space. Config.Timeout counts from the start of parsing, after any wait
// for a free PDFium instance. Cancelling ctx stops the extraction and
// returns ctx's error.
func (e *Extractor) Extract(ctx context.Context, filename string, data []byte) (*Document, error) {
	if int64(len(data)) > e.cfg.MaxFileBytes {
		return nil, fail(ErrTooLarge, fmt.Errorf("file is %d bytes, limit is %d", len(data), e.cfg.MaxFileBytes))
	}

	format, err := detectFormat(filename, data)
	if err != nil {
		return nil, err
	}

	var doc *Document
	switch format {
	case FormatPDF:
		doc, err = e.pdf.extract(ctx, data, e.cfg.MaxPages, e.cfg.Timeout)
	default:
		doc, err = e.readInProcess(ctx, format, data)
	}
	if err != nil {
		if errors.Is(err, errTimeout) {
			return nil, fail(ErrTooLarge, fmt.Errorf("extract %s after %s: %w", format, e.cfg.Timeout, err))
		}
		return nil, err
	}

	if !doc.hasText() {
		return nil, fail(ErrNoText, fmt.Errorf("%s document yielded only white space", format))
	}
	return doc, nil
}

// readInProcess parses the formats that need no PDFium instance.
func (e *Extractor) readInProcess(ctx context.Context, format string, data []byte) (doc *Document, err error) {
	ctx, cancel := context.WithTimeoutCause(ctx, e.cfg.Timeout, errTimeout)
	defer cancel()

	switch format {
	case FormatDOCX:
		doc, err = readDOCX(ctx, data, e.cfg)
	case FormatHTML:
		doc, err = readHTML(ctx, bytes.NewReader(data), e.cfg.MaxHTMLDepth)
	case FormatMarkdown:
		doc, err = readMarkdown(data)
	case FormatText:
		doc, err = readText(data)
	default:
		err = fmt.Errorf("read %s: no in-process reader", format)
	}
	return doc, err
}
