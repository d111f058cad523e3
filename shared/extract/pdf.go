package extract

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/klippa-app/go-pdfium"
	pdfiumerrors "github.com/klippa-app/go-pdfium/errors"
	"github.com/klippa-app/go-pdfium/references"
	"github.com/klippa-app/go-pdfium/requests"
	"github.com/klippa-app/go-pdfium/webassembly"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// pdfEngine runs PDFium, compiled to WebAssembly, in a pool of wazero
// instances. Each instance handles one document at a time.
type pdfEngine struct {
	pool  pdfium.Pool
	cache wazero.CompilationCache
}

// newPDFEngine compiles PDFium and starts a pool of workers instances, each
// limited to maxMemory bytes.
func newPDFEngine(cacheDir string, workers int, maxMemory int64) (*pdfEngine, error) {
	var cache wazero.CompilationCache
	if cacheDir != "" {
		var err error
		cache, err = wazero.NewCompilationCacheWithDir(cacheDir)
		if err != nil {
			return nil, fmt.Errorf("open wazero compilation cache %s: %w", cacheDir, err)
		}
	} else {
		cache = wazero.NewCompilationCache()
	}

	// The bundled PDFium lowers setjmp/longjmp to WebAssembly exception
	// handling, so that feature must stay on (go-pdfium v1.21.5,
	// webassembly.Init).
	// CloseOnContextDone lets Kill stop a call that runs past the deadline.
	runtimeConfig := wazero.NewRuntimeConfig().
		WithCoreFeatures(api.CoreFeaturesV2 | experimental.CoreFeaturesExceptionHandling).
		WithCompilationCache(cache).
		WithCloseOnContextDone(true).
		WithMemoryLimitPages(uint32(maxMemory / wasmPageBytes))

	pool, err := webassembly.Init(webassembly.Config{
		MinIdle:       1,
		MaxIdle:       workers,
		MaxTotal:      workers,
		RuntimeConfig: runtimeConfig,
		// go-pdfium mounts the host's / into the sandbox unless given an
		// FSConfig. Documents are passed as bytes, so no directory is
		// mounted at all.
		FSConfig: wazero.NewFSConfig(),
		// Anything PDFium prints would mix with the JSON log stream.
		Stdout: io.Discard,
		Stderr: io.Discard,
		// A fresh instance per document means a hostile file cannot leave
		// state behind for the next upload. A one-page PDF, instance
		// included, took about 13 ms on a 2-core machine.
		ReuseWorkers: false,
	})
	if err != nil {
		_ = cache.Close(context.Background())
		return nil, fmt.Errorf("start pdfium pool: %w", err)
	}
	return &pdfEngine{pool: pool, cache: cache}, nil
}

// close stops every instance and releases the compilation cache.
func (e *pdfEngine) close() error {
	poolErr := e.pool.Close()
	cacheErr := e.cache.Close(context.Background())
	return errors.Join(poolErr, cacheErr)
}

// extract returns the text of every page of data. It waits for a free
// instance as long as ctx allows, then gives the extraction timeout. When
// ctx ends or the timeout passes it kills the instance, which aborts the
// running WebAssembly call, and returns context.Cause (errTimeout for the
// timeout).
func (e *pdfEngine) extract(ctx context.Context, data []byte, maxPages int, timeout time.Duration) (doc *Document, err error) {
	instance, err := e.pool.GetInstanceWithContext(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		return nil, fmt.Errorf("get pdfium instance: %w", err)
	}

	ctx, cancel := context.WithTimeoutCause(ctx, timeout, errTimeout)
	defer cancel()

	killed := make(chan struct{})
	stopWatch := context.AfterFunc(ctx, func() {
		_ = instance.Kill()
		close(killed)
	})
	defer func() {
		if stopWatch() {
			// The watcher never ran, so the instance is still ours to close.
			_ = instance.Close()
			return
		}
		<-killed
	}()

	// go-pdfium recovers panics inside its own calls, but the text
	// post-processing here must not take the process down either.
	defer func() {
		if recovered := recover(); recovered != nil {
			doc = nil
			err = fail(ErrCorrupt, fmt.Errorf("pdf extraction panicked: %v", recovered))
		}
	}()

	doc, err = readPDF(instance, data, maxPages)
	if err != nil && ctx.Err() != nil {
		// The error came from the killed instance, not from the file.
		return nil, context.Cause(ctx)
	}
	return doc, err
}

// readPDF opens data in instance and reads every page's text.
func readPDF(instance pdfium.Pdfium, data []byte, maxPages int) (*Document, error) {
	opened, err := instance.OpenDocument(&requests.OpenDocument{File: &data})
	if err != nil {
		return nil, classifyPDFError(err)
	}
	defer func() {
		_, _ = instance.FPDF_CloseDocument(&requests.FPDF_CloseDocument{Document: opened.Document})
	}()

	count, err := instance.FPDF_GetPageCount(&requests.FPDF_GetPageCount{Document: opened.Document})
	if err != nil {
		return nil, fail(ErrCorrupt, fmt.Errorf("count pdf pages: %w", err))
	}
	if count.PageCount > maxPages {
		return nil, fail(ErrTooLarge, fmt.Errorf("pdf has %d pages, limit is %d", count.PageCount, maxPages))
	}

	doc := &Document{Format: FormatPDF, Pages: make([]Page, 0, count.PageCount)}
	for index := range count.PageCount {
		text, err := pdfPageText(instance, opened.Document, index)
		if err != nil {
			return nil, fail(ErrCorrupt, fmt.Errorf("read text of pdf page %d: %w", index+1, err))
		}
		doc.Pages = append(doc.Pages, Page{Number: index + 1, Blocks: pdfPageBlocks(text)})
	}
	return doc, nil
}

// pdfPageText returns the text of the page at index. It copies the whole
// page in one FPDFText_GetText call: go-pdfium's GetPageText makes one
// WebAssembly call per character, which made extraction several times
// slower.
func pdfPageText(instance pdfium.Pdfium, document references.FPDF_DOCUMENT, index int) (string, error) {
	page := requests.Page{ByIndex: &requests.PageByIndex{Document: document, Index: index}}
	textPage, err := instance.FPDFText_LoadPage(&requests.FPDFText_LoadPage{Page: page})
	if err != nil {
		return "", fmt.Errorf("load text page: %w", err)
	}
	defer func() {
		_, _ = instance.FPDFText_ClosePage(&requests.FPDFText_ClosePage{TextPage: textPage.TextPage})
	}()

	count, err := instance.FPDFText_CountChars(&requests.FPDFText_CountChars{TextPage: textPage.TextPage})
	if err != nil {
		return "", fmt.Errorf("count characters: %w", err)
	}
	if count.Count <= 0 {
		return "", nil
	}

	text, err := instance.FPDFText_GetText(&requests.FPDFText_GetText{TextPage: textPage.TextPage, Count: count.Count})
	if err != nil {
		return "", fmt.Errorf("get text: %w", err)
	}
	// The copied text ends with the NUL terminator of the C string.
	return strings.ReplaceAll(text.Text, "\x00", ""), nil
}

// pdfOutOfMemory is the message of go-pdfium v1.21.5 when malloc inside the
// instance fails; the library has no sentinel error for it.
const pdfOutOfMemory = "could not allocate memory"

// classifyPDFError maps a PDFium open error to the reason shown to users.
func classifyPDFError(err error) error {
	if strings.Contains(err.Error(), pdfOutOfMemory) {
		return fail(ErrTooLarge, fmt.Errorf("open pdf within the PDFium memory limit: %w", err))
	}
	if errors.Is(err, pdfiumerrors.ErrPassword) || errors.Is(err, pdfiumerrors.ErrSecurity) {
		return fail(ErrEncrypted, fmt.Errorf("open pdf: %w", err))
	}
	return fail(ErrCorrupt, fmt.Errorf("open pdf: %w", err))
}
