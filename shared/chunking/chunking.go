// Package chunking splits an extracted document into chunks small enough
// for the embedding model, each tied to one page and the headings above it
// so that search results can cite where a passage came from.
package chunking

import (
	"strings"

	"github.com/bondingai/platform/shared/extract"
)

// TokenCounter counts tokens the way the embedding model does; the model's
// embedder implements it.
type TokenCounter interface {
	// CountTokens returns how many model tokens text uses.
	CountTokens(text string) int
}

// Defaults for Options.
const (
	// MaxTokensDefault is the input limit of the default embedding model,
	// Universal Sentence Encoder lite, which drops tokens past 128.
	MaxTokensDefault = 128
	// OverlapTokensDefault repeats about one sentence between neighbouring
	// chunks, so a passage cut at a chunk edge is still found whole.
	OverlapTokensDefault = 24
)

// Options sets chunk sizes, in tokens of the TokenCounter.
type Options struct {
	// MaxTokens is the largest chunk. Zero or less means MaxTokensDefault.
	MaxTokens int
	// OverlapTokens is the most tokens of whole sentences from the end of
	// one chunk that start the next chunk on the same page and under the
	// same heading. Zero means no overlap; values past half of MaxTokens
	// are lowered to half, so that every chunk adds new text.
	OverlapTokens int
}

// DefaultOptions returns the sizes for the default embedding model.
func DefaultOptions() Options {
	return Options{MaxTokens: MaxTokensDefault, OverlapTokens: OverlapTokensDefault}
}

// Chunk is one passage to embed and index.
type Chunk struct {
	// Index is the chunk's position in the document, from 0.
	Index int
	// Text is the passage. Blocks are separated by newlines, list items
	// start with "- " and table rows keep their " | " cell separators.
	Text string
	// Page is the number of the page the whole chunk comes from: 1-based
	// for PDFs, 0 for formats without pages.
	Page int
	// HeadingPath lists the headings the chunk sits under, outermost
	// first, such as ["Leave policy", "Vacation"]. It is empty before the
	// first heading and for formats without headings, such as PDF.
	HeadingPath []string
	// Tokens is counter.CountTokens(Text); it never exceeds MaxTokens.
	Tokens int
}

// Split cuts doc into chunks in reading order. Chunks break at headings and
// pages and otherwise between sentences. A sentence longer than MaxTokens
// is split between words, and a word longer than MaxTokens between
// characters. Table rows stay whole where they fit, and a table that
// continues in a new chunk repeats its header row there when both fit.
// Blocks with no text yield no chunk. The result depends only on the
// inputs.
func Split(doc *extract.Document, counter TokenCounter, opts Options) []Chunk {
	if opts.MaxTokens <= 0 {
		opts.MaxTokens = MaxTokensDefault
	}
	opts.OverlapTokens = min(max(opts.OverlapTokens, 0), opts.MaxTokens/2)

	b := &builder{counter: counter, opts: opts}
	blockID := 0
	for _, page := range doc.Pages {
		b.startPage(page.Number)
		for _, block := range page.Blocks {
			blockID++
			if strings.TrimSpace(block.Text) == "" {
				continue
			}
			if block.Kind == extract.Heading {
				b.startSection(block, blockID)
				continue
			}
			for _, u := range blockUnits(block, blockID) {
				b.add(u)
			}
		}
		b.flush()
	}
	return b.chunks
}
