package extract

import (
	"fmt"
	"runtime"
	"time"
)

// Defaults for the zero fields of Config. They bound the work one upload can
// cause, not what a typical company document needs.
const (
	// MaxFileBytesDefault is the largest input file, in bytes.
	MaxFileBytesDefault = 100 << 20
	// MaxPagesDefault is the largest PDF page count.
	MaxPagesDefault = 2000
	// TimeoutDefault bounds the extraction of one document.
	TimeoutDefault = 2 * time.Minute
	// MaxZipEntriesDefault is the largest number of entries in a DOCX.
	MaxZipEntriesDefault = 1000
	// MaxUncompressedBytesDefault bounds the bytes read from all the parts
	// of one DOCX together.
	MaxUncompressedBytesDefault = 256 << 20
	// MaxCompressionRatioDefault is the largest uncompressed-to-compressed
	// size ratio allowed for one DOCX part. Real XML compresses about 10:1,
	// while a zip bomb reaches 1000:1.
	MaxCompressionRatioDefault = 100
	// MaxHTMLDepthDefault is the deepest element nesting read from HTML.
	MaxHTMLDepthDefault = 256
	// MaxPDFMemoryBytesDefault bounds the WebAssembly memory of one PDFium
	// instance. The 32-bit address space allows 4 GiB.
	MaxPDFMemoryBytesDefault = 1 << 30
)

// wasmPageBytes is the size of a WebAssembly memory page.
const wasmPageBytes = 64 << 10

// minPDFMemoryBytes leaves room for documents above the 18 MiB that the
// PDFium module of go-pdfium v1.21.5 declares as its minimum memory.
const minPDFMemoryBytes = 32 << 20

// Config sets up an Extractor. A zero field takes its default; a negative
// one makes New fail.
type Config struct {
	// CacheDir is a directory where wazero stores the machine code compiled
	// from PDFium's WebAssembly, so later processes start in well under a
	// second in place of several seconds. Empty means compile in memory on
	// every start.
	CacheDir string
	// PDFWorkers is the number of PDFium instances that run at once. Zero
	// means runtime.GOMAXPROCS(0).
	PDFWorkers int
	// MaxFileBytes is the largest input, in bytes.
	MaxFileBytes int64
	// MaxPages is the largest PDF page count.
	MaxPages int
	// Timeout bounds the extraction of one document.
	Timeout time.Duration
	// MaxZipEntries is the largest number of entries in a DOCX archive.
	MaxZipEntries int
	// MaxUncompressedBytes bounds the bytes read from all the parts of one
	// DOCX together.
	MaxUncompressedBytes int64
	// MaxCompressionRatio is the largest uncompressed-to-compressed size
	// ratio of one DOCX part.
	MaxCompressionRatio int
	// MaxHTMLDepth is the deepest element nesting read from HTML; deeper
	// content is rejected with ErrTooLarge.
	MaxHTMLDepth int
	// MaxPDFMemoryBytes bounds the memory of each PDFium instance, rounded
	// down to 64 KiB pages. PDFium itself takes about 18 MiB. A PDF whose
	// bytes do not fit fails with ErrTooLarge; one that runs out of memory
	// while a page is parsed fails with ErrCorrupt.
	MaxPDFMemoryBytes int64
}

// withDefaults returns cfg with every zero field set to its default, or an
// error naming the first negative field.
func (cfg Config) withDefaults() (Config, error) {
	negative := []struct {
		name  string
		value int64
	}{
		{"PDFWorkers", int64(cfg.PDFWorkers)},
		{"MaxFileBytes", cfg.MaxFileBytes},
		{"MaxPages", int64(cfg.MaxPages)},
		{"Timeout", int64(cfg.Timeout)},
		{"MaxZipEntries", int64(cfg.MaxZipEntries)},
		{"MaxUncompressedBytes", cfg.MaxUncompressedBytes},
		{"MaxCompressionRatio", int64(cfg.MaxCompressionRatio)},
		{"MaxHTMLDepth", int64(cfg.MaxHTMLDepth)},
		{"MaxPDFMemoryBytes", cfg.MaxPDFMemoryBytes},
	}
	for _, field := range negative {
		if field.value < 0 {
			return cfg, fmt.Errorf("invalid extract config: %s is %d, want zero (default) or more", field.name, field.value)
		}
	}

	if cfg.PDFWorkers == 0 {
		cfg.PDFWorkers = runtime.GOMAXPROCS(0)
	}
	if cfg.MaxFileBytes == 0 {
		cfg.MaxFileBytes = MaxFileBytesDefault
	}
	if cfg.MaxPages == 0 {
		cfg.MaxPages = MaxPagesDefault
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = TimeoutDefault
	}
	if cfg.MaxZipEntries == 0 {
		cfg.MaxZipEntries = MaxZipEntriesDefault
	}
	if cfg.MaxUncompressedBytes == 0 {
		cfg.MaxUncompressedBytes = MaxUncompressedBytesDefault
	}
	if cfg.MaxCompressionRatio == 0 {
		cfg.MaxCompressionRatio = MaxCompressionRatioDefault
	}
	if cfg.MaxHTMLDepth == 0 {
		cfg.MaxHTMLDepth = MaxHTMLDepthDefault
	}
	if cfg.MaxPDFMemoryBytes == 0 {
		cfg.MaxPDFMemoryBytes = MaxPDFMemoryBytesDefault
	}
	if cfg.MaxPDFMemoryBytes < minPDFMemoryBytes || cfg.MaxPDFMemoryBytes > 1<<32 {
		return cfg, fmt.Errorf("invalid extract config: MaxPDFMemoryBytes is %d, want %d (32 MiB) to %d (4 GiB)", cfg.MaxPDFMemoryBytes, minPDFMemoryBytes, int64(1<<32))
	}
	return cfg, nil
}
