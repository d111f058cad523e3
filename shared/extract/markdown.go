package extract

import (
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	extensionast "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"
)

// markdownParser parses CommonMark with GitHub tables. Parsers are safe
// for concurrent use.
var markdownParser = goldmark.New(goldmark.WithExtensions(extension.Table)).Parser()

// readMarkdown extracts headings, paragraphs, list items, code blocks and
// tables from Markdown source. Raw HTML in the source is dropped.
func readMarkdown(data []byte) (*Document, error) {
	source, err := decodeText(data)
	if err != nil {
		return nil, err
	}

	root := markdownParser.Parse(text.NewReader(source))
	var blocks []Block
	add := func(kind BlockKind, level int, raw string) {
		if t := normalizeSpace(raw); t != "" {
			blocks = append(blocks, Block{Kind: kind, Level: level, Text: t})
		}
	}

	err = ast.Walk(root, func(node ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := node.(type) {
		case *ast.Heading:
			add(Heading, min(n.Level, 6), markdownInlineText(n, source))
			return ast.WalkSkipChildren, nil
		case *ast.Paragraph, *ast.TextBlock:
			kind := Paragraph
			if _, inItem := n.Parent().(*ast.ListItem); inItem {
				kind = ListItem
			}
			add(kind, 0, markdownInlineText(n, source))
			return ast.WalkSkipChildren, nil
		case *ast.CodeBlock, *ast.FencedCodeBlock:
			add(Paragraph, 0, markdownLines(n, source))
			return ast.WalkSkipChildren, nil
		case *ast.HTMLBlock:
			return ast.WalkSkipChildren, nil
		case *extensionast.Table:
			if t := markdownTable(n, source); t != "" {
				blocks = append(blocks, Block{Kind: Table, Text: t})
			}
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	if err != nil {
		return nil, fail(ErrCorrupt, err)
	}
	return &Document{Format: FormatMarkdown, Pages: []Page{{Number: 0, Blocks: blocks}}}, nil
}

// markdownInlineText returns the visible text of node's inline children:
// text, code spans, link labels and image alt text, without markup.
func markdownInlineText(node ast.Node, source []byte) string {
	var b strings.Builder
	_ = ast.Walk(node, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch t := n.(type) {
		case *ast.Text:
			b.Write(t.Value(source))
			if t.SoftLineBreak() || t.HardLineBreak() {
				b.WriteByte(' ')
			}
		case *ast.String:
			b.Write(t.Value)
		case *ast.AutoLink:
			b.Write(t.Label(source))
		case *ast.RawHTML:
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	return b.String()
}

// markdownLines returns the raw lines of a code block.
func markdownLines(node ast.Node, source []byte) string {
	var b strings.Builder
	lines := node.Lines()
	for i := range lines.Len() {
		segment := lines.At(i)
		b.Write(segment.Value(source))
	}
	return b.String()
}

// markdownTable renders a GitHub table, header row first.
func markdownTable(table *extensionast.Table, source []byte) string {
	var rows [][]string
	for row := table.FirstChild(); row != nil; row = row.NextSibling() {
		var cells []string
		for cell := row.FirstChild(); cell != nil; cell = cell.NextSibling() {
			cells = append(cells, markdownInlineText(cell, source))
		}
		rows = append(rows, cells)
	}
	return renderTableRows(rows)
}
