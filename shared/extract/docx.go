package extract

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Parts of a WordprocessingML package (ECMA-376 Part 1, 11.3). Headers and
// footers have numbered names such as word/header1.xml.
const (
	docxMainPart      = "word/document.xml" // the name Word gives it
	docxStylesPart    = "word/styles.xml"
	docxFootnotesPart = "word/footnotes.xml"
	docxEndnotesPart  = "word/endnotes.xml"
)

// docxCancelCheckInterval is how many XML tokens pass between checks of
// the context, so a huge part stops soon after the deadline.
const docxCancelCheckInterval = 4096

// readDOCX extracts the body, then the distinct header and footer
// paragraphs, then footnotes and endnotes, all into one Page.
func readDOCX(ctx context.Context, data []byte, cfg Config) (*Document, error) {
	archive, err := openZip(data, cfg)
	if err != nil {
		return nil, err
	}

	styles := docxStyles{}
	if file := archive.find(docxStylesPart); file != nil {
		if styles, err = readDOCXStyles(ctx, archive, file.Name); err != nil {
			return nil, err
		}
	}

	mainPart, ok := findDOCXMainPart(archive.archive)
	if !ok {
		return nil, fail(ErrCorrupt, fmt.Errorf("docx has no main document part"))
	}
	body, err := readDOCXPart(ctx, archive, mainPart, styles)
	if err != nil {
		return nil, err
	}

	var extras []Block
	for _, name := range docxExtraParts(archive) {
		blocks, err := readDOCXPart(ctx, archive, name, styles)
		if err != nil {
			return nil, err
		}
		extras = append(extras, blocks...)
	}
	body = append(body, dedupeBlocks(extras)...)

	return &Document{Format: FormatDOCX, Pages: []Page{{Number: 0, Blocks: body}}}, nil
}

// headerFooterPart matches word/header1.xml, word/footer2.xml and so on.
var headerFooterPart = regexp.MustCompile(`^word/(header|footer)[0-9]*\.xml$`)

// docxExtraParts lists the header, footer, footnote and endnote parts
// present in archive, headers and footers sorted by name.
func docxExtraParts(archive *zipBudget) []string {
	var headerFooters []string
	for _, file := range archive.archive.File {
		if headerFooterPart.MatchString(file.Name) {
			headerFooters = append(headerFooters, file.Name)
		}
	}
	slices.Sort(headerFooters)

	names := headerFooters
	for _, name := range []string{docxFootnotesPart, docxEndnotesPart} {
		if archive.find(name) != nil {
			names = append(names, name)
		}
	}
	return names
}

// dedupeBlocks drops blocks whose text repeats an earlier one, because each
// section of a document may carry the same header and footer.
func dedupeBlocks(blocks []Block) []Block {
	seen := map[string]bool{}
	var unique []Block
	for _, b := range blocks {
		if seen[b.Text] {
			continue
		}
		seen[b.Text] = true
		unique = append(unique, b)
	}
	return unique
}

// docxStyle is the part of one paragraph style definition that classifies
// paragraphs.
type docxStyle struct {
	name         string
	basedOn      string
	outlineLevel int // 0-based w:outlineLvl, or -1 when unset
	numbered     bool
}

// docxStyles maps a style ID to its definition.
type docxStyles map[string]docxStyle

// headingStyleName matches the built-in heading style names, which stay
// English in every Office language even when the style ID is translated.
var headingStyleName = regexp.MustCompile(`^heading ([1-9])$`)

// headingStyleID matches the usual IDs of the built-in heading styles, for
// documents that come without styles.xml.
var headingStyleID = regexp.MustCompile(`^Heading([1-9])$`)

// maxStyleChain bounds the basedOn chain followed, against style cycles.
const maxStyleChain = 16

// headingLevel returns the heading level (1-6) of the style with id, or 0
// for a style that is no heading. Title counts as level 1 and levels past
// 6 count as 6.
func (s docxStyles) headingLevel(id string) int {
	for range maxStyleChain {
		style, ok := s[id]
		if !ok {
			break
		}
		name := strings.ToLower(style.name)
		if name == "title" {
			return 1
		}
		if m := headingStyleName.FindStringSubmatch(name); m != nil {
			level, _ := strconv.Atoi(m[1])
			return min(level, 6)
		}
		if style.outlineLevel >= 0 && style.outlineLevel < 9 {
			return min(style.outlineLevel+1, 6)
		}
		id = style.basedOn
	}

	if id == "Title" {
		return 1
	}
	if m := headingStyleID.FindStringSubmatch(id); m != nil {
		level, _ := strconv.Atoi(m[1])
		return min(level, 6)
	}
	return 0
}

// numbered reports whether the style with id, or a style it is based on,
// attaches list numbering.
func (s docxStyles) numbered(id string) bool {
	for range maxStyleChain {
		style, ok := s[id]
		if !ok {
			return false
		}
		if style.numbered {
			return true
		}
		id = style.basedOn
	}
	return false
}

// readDOCXStyles reads the paragraph styles of styles.xml.
func readDOCXStyles(ctx context.Context, archive *zipBudget, name string) (docxStyles, error) {
	styles := docxStyles{}
	var current *docxStyle
	var currentID string

	err := walkDOCXPart(ctx, archive, name, func(decoder *xml.Decoder, token xml.Token) error {
		switch t := token.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "style":
				if attr(t, "type") == "paragraph" {
					currentID = attr(t, "styleId")
					current = &docxStyle{outlineLevel: -1}
				}
			case "name":
				if current != nil {
					current.name = attr(t, "val")
				}
			case "basedOn":
				if current != nil {
					current.basedOn = attr(t, "val")
				}
			case "outlineLvl":
				if current != nil {
					if level, err := strconv.Atoi(attr(t, "val")); err == nil {
						current.outlineLevel = level
					}
				}
			case "numPr":
				if current != nil {
					current.numbered = true
				}
			}
		case xml.EndElement:
			if t.Name.Local == "style" && current != nil {
				styles[currentID] = *current
				current = nil
			}
		}
		return nil
	})
	return styles, err
}

// attr returns the value of the attribute with the given local name.
// WordprocessingML attributes sit in the w: namespace, which this ignores
// so that both transitional and strict documents work.
func attr(element xml.StartElement, local string) string {
	for _, a := range element.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// walkDOCXPart streams the tokens of one part to visit, checking ctx and
// the size budget as it goes.
func walkDOCXPart(ctx context.Context, archive *zipBudget, name string, visit func(*xml.Decoder, xml.Token) error) error {
	file := archive.find(name)
	if file == nil {
		return fail(ErrCorrupt, fmt.Errorf("docx has no part %s", name))
	}
	rc, err := archive.open(file)
	if err != nil {
		return err
	}
	defer rc.Close()

	// encoding/xml never fetches external entities or DTDs, and with a nil
	// Entity map it expands only the five predefined entities.
	decoder := xml.NewDecoder(rc)
	for count := 0; ; count++ {
		if count%docxCancelCheckInterval == 0 && ctx.Err() != nil {
			return context.Cause(ctx)
		}
		token, err := decoder.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if errors.Is(err, errPartTooLarge) {
			return fail(ErrTooLarge, fmt.Errorf("read docx part %s: %w", name, err))
		}
		if err != nil {
			return fail(ErrCorrupt, fmt.Errorf("parse docx part %s: %w", name, err))
		}
		if err := visit(decoder, token); err != nil {
			return err
		}
	}
}

// docxParagraph collects one w:p element.
type docxParagraph struct {
	text         strings.Builder
	style        string
	outlineLevel int // 0-based w:outlineLvl, or -1 when unset
	numbered     bool
}

// docxTable collects one w:tbl element.
type docxTable struct {
	rows [][]string
	row  []string
	cell []string
}

// readDOCXPart extracts the blocks of one WordprocessingML part: the body,
// a header or footer, or the footnotes.
func readDOCXPart(ctx context.Context, archive *zipBudget, name string, styles docxStyles) ([]Block, error) {
	var (
		blocks     []Block
		paragraphs []*docxParagraph // nested when a text box sits in a run
		tables     []*docxTable     // nested when a table sits in a cell
		inText     bool
		inPPr      bool
	)

	emitParagraph := func(p *docxParagraph) {
		text := normalizeSpace(p.text.String())
		if text == "" {
			return
		}
		if len(tables) > 0 {
			table := tables[len(tables)-1]
			table.cell = append(table.cell, text)
			return
		}
		blocks = append(blocks, docxBlock(p, text, styles))
	}

	emitTable := func(table *docxTable) {
		text := renderTableRows(table.rows)
		if text == "" {
			return
		}
		if len(tables) > 0 {
			// A nested table is flattened into the enclosing cell.
			parent := tables[len(tables)-1]
			parent.cell = append(parent.cell, strings.ReplaceAll(text, "\n", "; "))
			return
		}
		blocks = append(blocks, Block{Kind: Table, Text: text})
	}

	visit := func(decoder *xml.Decoder, token xml.Token) error {
		switch t := token.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "Fallback":
				// mc:AlternateContent repeats text boxes in mc:Fallback for
				// old readers; reading both would duplicate the text.
				return decoder.Skip()
			case "del", "moveFrom", "instrText", "delInstrText", "pPrChange", "rPrChange":
				// Tracked deletions, field codes and the old formatting of
				// tracked changes are not visible text or current style.
				return decoder.Skip()
			case "p":
				paragraphs = append(paragraphs, &docxParagraph{outlineLevel: -1})
			case "pPr":
				inPPr = true
			case "pStyle":
				if inPPr && len(paragraphs) > 0 {
					paragraphs[len(paragraphs)-1].style = attr(t, "val")
				}
			case "numPr":
				if inPPr && len(paragraphs) > 0 {
					paragraphs[len(paragraphs)-1].numbered = true
				}
			case "outlineLvl":
				if inPPr && len(paragraphs) > 0 {
					if level, err := strconv.Atoi(attr(t, "val")); err == nil {
						paragraphs[len(paragraphs)-1].outlineLevel = level
					}
				}
			case "t":
				inText = true
			case "tab", "br", "cr":
				if len(paragraphs) > 0 && !inPPr {
					paragraphs[len(paragraphs)-1].text.WriteByte(' ')
				}
			case "noBreakHyphen":
				if len(paragraphs) > 0 {
					paragraphs[len(paragraphs)-1].text.WriteByte('-')
				}
			case "tbl":
				tables = append(tables, &docxTable{})
			case "tr":
				if len(tables) > 0 {
					tables[len(tables)-1].row = nil
				}
			case "tc":
				if len(tables) > 0 {
					tables[len(tables)-1].cell = nil
				}
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "t":
				inText = false
			case "pPr":
				inPPr = false
			case "p":
				if len(paragraphs) > 0 {
					last := paragraphs[len(paragraphs)-1]
					paragraphs = paragraphs[:len(paragraphs)-1]
					emitParagraph(last)
				}
			case "tc":
				if len(tables) > 0 {
					table := tables[len(tables)-1]
					table.row = append(table.row, strings.Join(table.cell, " "))
				}
			case "tr":
				if len(tables) > 0 {
					table := tables[len(tables)-1]
					table.rows = append(table.rows, table.row)
				}
			case "tbl":
				if len(tables) > 0 {
					last := tables[len(tables)-1]
					tables = tables[:len(tables)-1]
					emitTable(last)
				}
			}
		case xml.CharData:
			if inText && len(paragraphs) > 0 {
				paragraphs[len(paragraphs)-1].text.Write(t)
			}
		}
		return nil
	}

	if err := walkDOCXPart(ctx, archive, name, visit); err != nil {
		return nil, err
	}
	return blocks, nil
}

// docxBlock classifies a finished paragraph by its style and numbering.
func docxBlock(p *docxParagraph, text string, styles docxStyles) Block {
	level := styles.headingLevel(p.style)
	if level == 0 && p.outlineLevel >= 0 && p.outlineLevel < 9 {
		level = min(p.outlineLevel+1, 6)
	}
	switch {
	case level > 0:
		return Block{Kind: Heading, Level: level, Text: text}
	case p.numbered || styles.numbered(p.style):
		return Block{Kind: ListItem, Text: text}
	default:
		return Block{Kind: Paragraph, Text: text}
	}
}

// renderTableRows joins each row's cells with TableCellSeparator and the
// rows with newlines. Empty cells stay, so columns line up with the header
// row, but rows with no text at all are dropped.
func renderTableRows(rows [][]string) string {
	var lines []string
	for _, row := range rows {
		cells := make([]string, len(row))
		empty := true
		for i, cell := range row {
			cells[i] = normalizeSpace(cell)
			if cells[i] != "" {
				empty = false
			}
		}
		if !empty {
			lines = append(lines, strings.Join(cells, TableCellSeparator))
		}
	}
	return strings.Join(lines, "\n")
}
