// Package extract turns the bytes of an uploaded file into structured text
// with page numbers, so chunks and citations can point at the page a passage
// came from. It reads PDF (PDFium compiled to WebAssembly, run by wazero),
// DOCX, Markdown, HTML and plain text, and rejects anything else.
package extract

import "strings"

// Format names the file format a Document was read from.
const (
	FormatPDF      = "pdf"
	FormatDOCX     = "docx"
	FormatMarkdown = "markdown"
	FormatHTML     = "html"
	FormatText     = "text"
)

// Document is the text of one file in reading order.
type Document struct {
	// Format is one of the Format constants.
	Format string
	// Pages holds the content page by page. Formats without fixed pages
	// (everything but PDF) have exactly one Page with Number 0.
	Pages []Page
}

// Page is the content of one page.
type Page struct {
	// Number is the 1-based page number in a PDF, or 0 for formats without
	// fixed pages.
	Number int
	// Blocks is the page's content in reading order.
	Blocks []Block
}

// BlockKind is the role of a Block in the document's structure.
type BlockKind int

// Block kinds.
const (
	// Paragraph is running text.
	Paragraph BlockKind = iota
	// Heading is a section title; Block.Level gives its depth (1-6).
	Heading
	// ListItem is one item of a bulleted or numbered list.
	ListItem
	// Table is a whole table. Each row is one line of Block.Text with its
	// cells joined by TableCellSeparator, so a cell such as a limit stays
	// next to its row label. The first line is the header row when the
	// source marks one or when the table has no other signal.
	Table
)

// TableCellSeparator joins the cells of a table row in Block.Text.
const TableCellSeparator = " | "

// String returns the kind's name as used in logs and test output.
func (k BlockKind) String() string {
	switch k {
	case Paragraph:
		return "paragraph"
	case Heading:
		return "heading"
	case ListItem:
		return "list_item"
	case Table:
		return "table"
	default:
		return "unknown"
	}
}

// Block is one structural unit of text: a heading, a paragraph, a list item
// or a table.
type Block struct {
	Kind BlockKind
	// Level is the heading depth, 1 (top) to 6, and 0 for other kinds.
	Level int
	// Text is the block's text with runs of spaces collapsed. Only Table
	// text contains newlines (one per row).
	Text string
}

// Text returns the page's blocks joined by blank lines.
func (p Page) Text() string {
	parts := make([]string, 0, len(p.Blocks))
	for _, b := range p.Blocks {
		parts = append(parts, b.Text)
	}
	return strings.Join(parts, "\n\n")
}

// hasText reports whether any block of doc holds a non-space character.
func (d *Document) hasText() bool {
	for _, p := range d.Pages {
		for _, b := range p.Blocks {
			if strings.TrimSpace(b.Text) != "" {
				return true
			}
		}
	}
	return false
}

// normalizeSpace collapses every run of Unicode white space, including
// no-break spaces, into one ASCII space and trims both ends.
func normalizeSpace(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
