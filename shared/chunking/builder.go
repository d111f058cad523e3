package chunking

import (
	"slices"
	"strings"

	"github.com/bondingai/platform/shared/extract"
)

// heading is one entry of the current heading path.
type heading struct {
	level int
	text  string
}

// builder packs units into chunks for one document.
type builder struct {
	counter TokenCounter
	opts    Options
	chunks  []Chunk

	page     int
	headings []heading
	// units is the chunk being built; hasBody is false while it holds
	// only a heading or text carried over as overlap.
	units   []unit
	hasBody bool
	// path is the heading path when the current chunk started.
	path []string
}

// startPage ends the current chunk, because a chunk never spans pages.
// The heading path carries on: a section often continues on the next page.
func (b *builder) startPage(number int) {
	b.flush()
	b.page = number
}

// startSection ends the current chunk and starts one under the new heading,
// with the heading text as its first line.
func (b *builder) startSection(block extract.Block, id int) {
	b.flush()

	level := min(max(block.Level, 1), 6)
	for len(b.headings) > 0 && b.headings[len(b.headings)-1].level >= level {
		b.headings = b.headings[:len(b.headings)-1]
	}
	b.headings = append(b.headings, heading{level: level, text: block.Text})

	b.add(unit{text: block.Text, kind: extract.Heading, block: id})
	b.hasBody = false
}

// add places u in the current chunk, or starts a new chunk when u does not
// fit, after splitting u if it cannot fit even alone.
func (b *builder) add(u unit) {
	if b.counter.CountTokens(u.text) > b.opts.MaxTokens {
		for i, piece := range splitToFit(u.text, b.counter, b.opts.MaxTokens) {
			part := u
			part.text = piece
			part.tableHeader = u.tableHeader && i == 0
			b.add(part)
		}
		return
	}

	if len(b.units) == 0 {
		b.path = b.headingPath()
	}
	if b.fits(append(b.units, u)) {
		b.units = append(b.units, u)
		b.hasBody = b.hasBody || u.kind != extract.Heading
		return
	}

	carried := b.carryOver(u)
	if len(carried) > 0 && carried[0].tableHeader {
		b.dropTrailingHeader(u)
	}
	b.flush()
	b.path = b.headingPath()
	b.units = append(carried, u)
	b.hasBody = true
}

// dropTrailingHeader removes the header row of u's table from the end of
// the current chunk, where u, the first data row, did not fit after it.
// The caller has already carried the header to the start of the next
// chunk, so no chunk ends with a header that has no rows.
func (b *builder) dropTrailingHeader(u unit) {
	last := len(b.units) - 1
	if last < 0 || u.kind != extract.Table {
		return
	}
	header := b.units[last]
	if !header.tableHeader || header.block != u.block {
		return
	}
	b.units = b.units[:last]
	b.hasBody = slices.ContainsFunc(b.units, func(kept unit) bool {
		return kept.kind != extract.Heading
	})
}

// carryOver returns the units that start the chunk after the current one,
// ahead of u: the table's header row when u continues a table, otherwise
// the last whole sentences of the current chunk within OverlapTokens.
// Headings are never carried, and the result always fits with u.
func (b *builder) carryOver(u unit) []unit {
	if u.kind == extract.Table && !u.tableHeader {
		for _, prior := range b.units {
			if prior.block == u.block && prior.tableHeader {
				if b.fits([]unit{prior, u}) {
					return []unit{prior}
				}
				return nil
			}
		}
	}

	if b.opts.OverlapTokens == 0 {
		return nil
	}
	start := len(b.units)
	for start > 0 {
		previous := b.units[start-1]
		if previous.kind == extract.Heading || previous.kind == extract.Table {
			break
		}
		candidate := b.units[start-1:]
		if b.counter.CountTokens(joinUnits(candidate)) > b.opts.OverlapTokens {
			break
		}
		if !b.fits(append(slices.Clone(candidate), u)) {
			break
		}
		start--
	}
	return slices.Clone(b.units[start:])
}

// flush emits the current chunk unless it holds only a heading or
// overlap, and starts an empty one.
func (b *builder) flush() {
	if b.hasBody {
		text := joinUnits(b.units)
		b.chunks = append(b.chunks, Chunk{
			Index:       len(b.chunks),
			Text:        text,
			Page:        b.page,
			HeadingPath: b.path,
			Tokens:      b.counter.CountTokens(text),
		})
	}
	b.units = nil
	b.hasBody = false
}

// fits reports whether units together stay within MaxTokens.
func (b *builder) fits(units []unit) bool {
	return b.counter.CountTokens(joinUnits(units)) <= b.opts.MaxTokens
}

// headingPath returns a copy of the current heading texts.
func (b *builder) headingPath() []string {
	path := make([]string, len(b.headings))
	for i, h := range b.headings {
		path[i] = h.text
	}
	return path
}

// joinUnits joins the sentences of one block with spaces and everything
// else with newlines.
func joinUnits(units []unit) string {
	var text strings.Builder
	for i, u := range units {
		if i > 0 {
			if u.block == units[i-1].block && u.kind != extract.Table {
				text.WriteByte(' ')
			} else {
				text.WriteByte('\n')
			}
		}
		text.WriteString(u.text)
	}
	return text.String()
}
