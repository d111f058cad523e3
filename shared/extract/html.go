package extract

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/net/html/charset"
)

// htmlSkipped are elements whose content is not document text.
var htmlSkipped = map[atom.Atom]bool{
	atom.Head: true, atom.Script: true, atom.Style: true, atom.Noscript: true,
	atom.Template: true, atom.Nav: true, atom.Svg: true, atom.Math: true,
	atom.Iframe: true, atom.Object: true, atom.Button: true, atom.Select: true,
}

// htmlBlockElements end the paragraph before them and start a new one.
var htmlBlockElements = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.Section: true, atom.Article: true,
	atom.Main: true, atom.Header: true, atom.Footer: true, atom.Aside: true,
	atom.Blockquote: true, atom.Pre: true, atom.Ul: true, atom.Ol: true,
	atom.Dl: true, atom.Dt: true, atom.Dd: true, atom.Figure: true,
	atom.Figcaption: true, atom.Address: true, atom.Hr: true, atom.Form: true,
	atom.Fieldset: true, atom.Details: true, atom.Summary: true, atom.Body: true,
}

// htmlHeadingLevels maps h1-h6 to their levels.
var htmlHeadingLevels = map[atom.Atom]int{
	atom.H1: 1, atom.H2: 2, atom.H3: 3, atom.H4: 4, atom.H5: 5, atom.H6: 6,
}

// htmlVoidOrOptionalEnd are elements that need no end tag, so the depth
// pre-scan does not count them as open.
var htmlVoidOrOptionalEnd = map[atom.Atom]bool{
	atom.Area: true, atom.Base: true, atom.Br: true, atom.Col: true,
	atom.Embed: true, atom.Hr: true, atom.Img: true, atom.Input: true,
	atom.Link: true, atom.Meta: true, atom.Source: true, atom.Track: true,
	atom.Wbr: true, atom.P: true, atom.Li: true, atom.Dt: true, atom.Dd: true,
	atom.Tr: true, atom.Td: true, atom.Th: true, atom.Option: true,
	atom.Optgroup: true, atom.Thead: true, atom.Tbody: true, atom.Tfoot: true,
	atom.Colgroup: true, atom.Caption: true, atom.Rb: true, atom.Rt: true,
	atom.Rp: true, atom.Rtc: true, atom.Html: true, atom.Head: true, atom.Body: true,
}

// readHTML extracts headings, paragraphs, list items and tables from an
// HTML document in the encoding its BOM or meta tag declares.
func readHTML(ctx context.Context, r io.Reader, maxDepth int) (*Document, error) {
	decoded, err := charset.NewReader(r, "")
	if err != nil {
		return nil, fail(ErrCorrupt, fmt.Errorf("detect html charset: %w", err))
	}
	source, err := io.ReadAll(decoded)
	if err != nil {
		return nil, fail(ErrCorrupt, fmt.Errorf("decode html: %w", err))
	}

	// The HTML parser's scope checks walk the stack of open elements, so
	// very deep nesting costs quadratic time before the tree walk below
	// could reject it. A token pass rejects it first, in linear time.
	if depth := htmlNestingDepth(source, maxDepth); depth > maxDepth {
		return nil, fail(ErrTooLarge, fmt.Errorf("html nests elements deeper than %d", maxDepth))
	}

	root, err := html.Parse(bytes.NewReader(source))
	if err != nil {
		return nil, fail(ErrCorrupt, fmt.Errorf("parse html: %w", err))
	}

	w := &htmlWalker{ctx: ctx, maxDepth: maxDepth, kind: Paragraph}
	if err := w.walk(root, 0); err != nil {
		return nil, err
	}
	w.flush()
	return &Document{Format: FormatHTML, Pages: []Page{{Number: 0, Blocks: w.blocks}}}, nil
}

// htmlNestingDepth returns the deepest nesting of elements that need an end
// tag, stopping as soon as it passes limit.
func htmlNestingDepth(source []byte, limit int) int {
	tokenizer := html.NewTokenizer(bytes.NewReader(source))
	depth, deepest := 0, 0
	for {
		switch tokenizer.Next() {
		case html.ErrorToken:
			return deepest
		case html.StartTagToken:
			name, _ := tokenizer.TagName()
			if htmlVoidOrOptionalEnd[atom.Lookup(name)] {
				continue
			}
			depth++
			if depth > deepest {
				deepest = depth
			}
			if deepest > limit {
				return deepest
			}
		case html.EndTagToken:
			name, _ := tokenizer.TagName()
			if !htmlVoidOrOptionalEnd[atom.Lookup(name)] && depth > 0 {
				depth--
			}
		}
	}
}

// htmlWalker turns a parsed HTML tree into blocks. Inline text builds up in
// text until a block boundary flushes it as a block of the current kind.
type htmlWalker struct {
	ctx      context.Context
	maxDepth int
	blocks   []Block
	text     strings.Builder
	kind     BlockKind
	visited  int
}

// htmlCancelCheckInterval is how many nodes pass between context checks.
const htmlCancelCheckInterval = 4096

func (w *htmlWalker) flush() {
	if t := normalizeSpace(w.text.String()); t != "" {
		w.blocks = append(w.blocks, Block{Kind: w.kind, Text: t})
	}
	w.text.Reset()
}

func (w *htmlWalker) walk(n *html.Node, depth int) error {
	if depth > w.maxDepth {
		return fail(ErrTooLarge, fmt.Errorf("html nests elements deeper than %d", w.maxDepth))
	}
	w.visited++
	if w.visited%htmlCancelCheckInterval == 0 && w.ctx.Err() != nil {
		return context.Cause(w.ctx)
	}

	switch n.Type {
	case html.TextNode:
		w.text.WriteString(n.Data)
		return nil
	case html.DocumentNode:
		return w.walkChildren(n, depth)
	case html.ElementNode:
	default:
		return nil
	}

	if htmlSkipped[n.DataAtom] {
		return nil
	}
	if level, ok := htmlHeadingLevels[n.DataAtom]; ok {
		w.flush()
		text, err := htmlInnerText(n, depth, w.maxDepth)
		if err != nil {
			return err
		}
		if t := normalizeSpace(text); t != "" {
			w.blocks = append(w.blocks, Block{Kind: Heading, Level: level, Text: t})
		}
		return nil
	}

	switch n.DataAtom {
	case atom.Br:
		w.text.WriteByte(' ')
		return nil
	case atom.Table:
		w.flush()
		// The caption becomes a paragraph before the table, so that the
		// table's first line stays its header row.
		for child := n.FirstChild; child != nil; child = child.NextSibling {
			if child.Type == html.ElementNode && child.DataAtom == atom.Caption {
				text, err := htmlInnerText(child, depth+1, w.maxDepth)
				if err != nil {
					return err
				}
				if t := normalizeSpace(text); t != "" {
					w.blocks = append(w.blocks, Block{Kind: Paragraph, Text: t})
				}
			}
		}
		rows, err := htmlTableRows(n, depth, w.maxDepth)
		if err != nil {
			return err
		}
		if t := renderTableRows(rows); t != "" {
			w.blocks = append(w.blocks, Block{Kind: Table, Text: t})
		}
		return nil
	case atom.Li:
		w.flush()
		outer := w.kind
		w.kind = ListItem
		err := w.walkChildren(n, depth)
		w.flush()
		w.kind = outer
		return err
	}

	if htmlBlockElements[n.DataAtom] {
		w.flush()
		err := w.walkChildren(n, depth)
		w.flush()
		return err
	}
	// An inline element such as a, span or em: its text joins the
	// surrounding paragraph.
	return w.walkChildren(n, depth)
}

func (w *htmlWalker) walkChildren(n *html.Node, depth int) error {
	for child := n.FirstChild; child != nil; child = child.NextSibling {
		if err := w.walk(child, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// htmlInnerText returns the text under n, skipping non-content elements.
func htmlInnerText(n *html.Node, depth, maxDepth int) (string, error) {
	var b strings.Builder
	var visit func(*html.Node, int) error
	visit = func(node *html.Node, d int) error {
		if d > maxDepth {
			return fail(ErrTooLarge, fmt.Errorf("html nests elements deeper than %d", maxDepth))
		}
		switch {
		case node.Type == html.TextNode:
			b.WriteString(node.Data)
			return nil
		case node.Type != html.ElementNode || htmlSkipped[node.DataAtom]:
			return nil
		}
		if node.DataAtom == atom.Br || htmlBlockElements[node.DataAtom] || node.DataAtom == atom.Li {
			b.WriteByte(' ')
		}
		for child := node.FirstChild; child != nil; child = child.NextSibling {
			if err := visit(child, d+1); err != nil {
				return err
			}
		}
		if htmlBlockElements[node.DataAtom] || node.DataAtom == atom.Li || node.DataAtom == atom.Td || node.DataAtom == atom.Th {
			b.WriteByte(' ')
		}
		return nil
	}
	for child := n.FirstChild; child != nil; child = child.NextSibling {
		if err := visit(child, depth+1); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

// htmlTableRows returns the cell texts of table's own rows, in document
// order. Rows of a nested table stay inside the text of their cell.
func htmlTableRows(table *html.Node, depth, maxDepth int) ([][]string, error) {
	var rows [][]string
	var visit func(*html.Node, int) error
	visit = func(node *html.Node, d int) error {
		if d > maxDepth {
			return fail(ErrTooLarge, fmt.Errorf("html nests elements deeper than %d", maxDepth))
		}
		for child := node.FirstChild; child != nil; child = child.NextSibling {
			if child.Type != html.ElementNode {
				continue
			}
			switch child.DataAtom {
			case atom.Tr:
				var cells []string
				for cell := child.FirstChild; cell != nil; cell = cell.NextSibling {
					if cell.Type != html.ElementNode || (cell.DataAtom != atom.Td && cell.DataAtom != atom.Th) {
						continue
					}
					text, err := htmlInnerText(cell, d+2, maxDepth)
					if err != nil {
						return err
					}
					cells = append(cells, text)
				}
				rows = append(rows, cells)
			case atom.Thead, atom.Tbody, atom.Tfoot:
				if err := visit(child, d+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return rows, visit(table, depth)
}
