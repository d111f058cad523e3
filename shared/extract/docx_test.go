package extract

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
)

func TestExtractDOCXExpensePolicy(t *testing.T) {
	e := newTestExtractor(t, Config{})
	doc := extractFile(t, e, expensesDOCX)

	if doc.Format != FormatDOCX {
		t.Errorf("Format = %q, want %q", doc.Format, FormatDOCX)
	}
	if len(doc.Pages) != 1 || doc.Pages[0].Number != 0 {
		t.Fatalf("got pages %+v, want one page numbered 0", doc.Pages)
	}

	blocks := doc.Pages[0].Blocks
	if blocks[0].Kind != Heading || blocks[0].Level != 1 || blocks[0].Text != "Contoso Corp. Expense Policy" {
		t.Errorf("first block = %+v, want the Title as a level-1 heading", blocks[0])
	}

	var table string
	for _, b := range blocks {
		if b.Kind == Table {
			table = b.Text
		}
	}
	rows := strings.Split(table, "\n")
	if len(rows) != 7 {
		t.Fatalf("table has %d rows, want 7: %q", len(rows), rows)
	}
	if rows[0] != "Expense Category | Limit | Guidelines" {
		t.Errorf("header row = %q", rows[0])
	}
	for label, limit := range map[string]string{"Accommodation": "$200 per night", "Meals": "$90 per meal"} {
		found := false
		for _, row := range rows {
			if strings.HasPrefix(row, label+" | "+limit+" | ") {
				found = true
			}
		}
		if !found {
			t.Errorf("no row starts with %q", label+" | "+limit)
		}
	}

	for _, q := range readQuestions(t, "expenses_policy.docx") {
		if !strings.Contains(doc.Pages[0].Text(), q.AnswerContains) {
			t.Errorf("%q: text lacks %q", q.Question, q.AnswerContains)
		}
	}
}

// docxFiles builds a DOCX archive from part names and contents.
func docxFiles(t testing.TB, parts map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for name, content := range parts {
		f, err := w.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// wordXML wraps body in a WordprocessingML document element.
func wordXML(root, body string) string {
	return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
		`<w:` + root + ` xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" ` +
		`xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006">` + body + `</w:` + root + `>`
}

func para(style, text string) string {
	props := ""
	if style != "" {
		props = `<w:pPr><w:pStyle w:val="` + style + `"/></w:pPr>`
	}
	return `<w:p>` + props + `<w:r><w:t xml:space="preserve">` + text + `</w:t></w:r></w:p>`
}

func TestExtractDOCXStructure(t *testing.T) {
	styles := wordXML("styles", `
		<w:style w:type="paragraph" w:styleId="berschrift1"><w:name w:val="heading 1"/></w:style>
		<w:style w:type="paragraph" w:styleId="Sub"><w:name w:val="Sub Heading"/><w:basedOn w:val="Heading2"/></w:style>
		<w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/></w:style>
		<w:style w:type="paragraph" w:styleId="ListBullet"><w:name w:val="List Bullet"/><w:pPr><w:numPr><w:numId w:val="1"/></w:numPr></w:pPr></w:style>
		<w:style w:type="paragraph" w:styleId="Loop1"><w:name w:val="Loop 1"/><w:basedOn w:val="Loop2"/></w:style>
		<w:style w:type="paragraph" w:styleId="Loop2"><w:name w:val="Loop 2"/><w:basedOn w:val="Loop1"/></w:style>`)
	body := wordXML("document", `<w:body>`+
		para("berschrift1", "Leave policy")+
		para("Sub", "Vacation")+
		para("", "Employees get   20 days.")+
		para("ListBullet", "Ask two weeks ahead")+
		`<w:p><w:pPr><w:numPr><w:ilvl w:val="0"/><w:numId w:val="2"/></w:numPr></w:pPr><w:r><w:t>Numbered item</w:t></w:r></w:p>`+
		`<w:p><w:pPr><w:outlineLvl w:val="2"/></w:pPr><w:r><w:t>Outline heading</w:t></w:r></w:p>`+
		`<w:p><w:r><w:t>Kept</w:t></w:r><w:del><w:r><w:delText>Deleted</w:delText></w:r></w:del><w:ins><w:r><w:t xml:space="preserve"> inserted</w:t></w:r></w:ins></w:p>`+
		`<w:p><w:r><w:t>Tab</w:t><w:tab/><w:t>separated</w:t><w:br/><w:t>line</w:t></w:r></w:p>`+
		`<w:p><w:r><mc:AlternateContent><mc:Choice><w:txbxContent>`+para("", "Text box")+`</w:txbxContent></mc:Choice>`+
		`<mc:Fallback><w:txbxContent>`+para("", "Text box")+`</w:txbxContent></mc:Fallback></mc:AlternateContent></w:r></w:p>`+
		`<w:tbl><w:tr><w:tc>`+para("", "Item")+`</w:tc><w:tc>`+para("", "Limit")+`</w:tc></w:tr>`+
		`<w:tr><w:tc>`+para("", "Hotel")+`</w:tc><w:tc>`+para("", "$200")+para("", "per night")+`</w:tc></w:tr>`+
		`<w:tr><w:tc>`+para("", "Nested")+`</w:tc><w:tc><w:tbl><w:tr><w:tc>`+para("", "a")+`</w:tc><w:tc>`+para("", "b")+`</w:tc></w:tr>`+
		`<w:tr><w:tc>`+para("", "c")+`</w:tc></w:tr></w:tbl></w:tc></w:tr>`+
		`<w:tr><w:tc>`+para("", "")+`</w:tc></w:tr></w:tbl>`+
		para("Loop1", "Cyclic style")+
		`</w:body>`)
	header := wordXML("hdr", para("", "Contoso confidential"))
	footnotes := wordXML("footnotes", `<w:footnote w:id="1">`+para("", "See the HR portal.")+`</w:footnote>`)

	data := docxFiles(t, map[string]string{
		"word/document.xml":  body,
		"word/styles.xml":    styles,
		"word/header1.xml":   header,
		"word/header2.xml":   header,
		"word/footnotes.xml": footnotes,
	})
	e := newTestExtractor(t, Config{})
	doc, err := e.Extract(context.Background(), "policy.docx", data)
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}

	want := []Block{
		{Kind: Heading, Level: 1, Text: "Leave policy"},
		{Kind: Heading, Level: 2, Text: "Vacation"},
		{Kind: Paragraph, Text: "Employees get 20 days."},
		{Kind: ListItem, Text: "Ask two weeks ahead"},
		{Kind: ListItem, Text: "Numbered item"},
		{Kind: Heading, Level: 3, Text: "Outline heading"},
		{Kind: Paragraph, Text: "Kept inserted"},
		{Kind: Paragraph, Text: "Tab separated line"},
		{Kind: Paragraph, Text: "Text box"},
		{Kind: Table, Text: "Item | Limit\nHotel | $200 per night\nNested | a | b; c"},
		{Kind: Paragraph, Text: "Cyclic style"},
		{Kind: Paragraph, Text: "Contoso confidential"},
		{Kind: Paragraph, Text: "See the HR portal."},
	}
	got := doc.Pages[0].Blocks
	if len(got) != len(want) {
		t.Fatalf("got %d blocks, want %d:\n%s", len(got), len(want), dumpBlocks(got))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("block %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func dumpBlocks(blocks []Block) string {
	var b strings.Builder
	for _, block := range blocks {
		fmt.Fprintf(&b, "%s %d %q\n", block.Kind, block.Level, block.Text)
	}
	return b.String()
}

func TestExtractDOCXMainPartName(t *testing.T) {
	contentTypes := `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
		`<Override PartName="/word/document2.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`
	data := docxFiles(t, map[string]string{
		"[Content_Types].xml": contentTypes,
		"word/document2.xml":  wordXML("document", "<w:body>"+para("", "Renamed main part.")+"</w:body>"),
	})
	e := newTestExtractor(t, Config{})

	doc, err := e.Extract(context.Background(), "renamed.docx", data)
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	if got := doc.Pages[0].Text(); got != "Renamed main part." {
		t.Errorf("text = %q", got)
	}

	// A declared part that is missing from the archive is no DOCX.
	missing := docxFiles(t, map[string]string{"[Content_Types].xml": contentTypes})
	_, err = e.Extract(context.Background(), "missing.docx", missing)
	wantReason(t, err, ErrCorrupt)
}

func TestExtractDOCXHostile(t *testing.T) {
	e := newTestExtractor(t, Config{})
	bomb := docxFiles(t, map[string]string{
		"word/document.xml": wordXML("document", "<w:body>"+para("", strings.Repeat("a", 20<<20))+"</w:body>"),
	})
	manyEntries := map[string]string{"word/document.xml": wordXML("document", "<w:body>"+para("", "hi")+"</w:body>")}
	for i := range MaxZipEntriesDefault {
		manyEntries[fmt.Sprintf("customXml/item%d.xml", i)] = "<a/>"
	}

	cases := []struct {
		name   string
		data   []byte
		reason error
	}{
		{"zip bomb", bomb, ErrTooLarge},
		{"too many entries", docxFiles(t, manyEntries), ErrTooLarge},
		{"zero bytes", nil, ErrCorrupt},
		{"zip without document", docxFiles(t, map[string]string{"word/styles.xml": "<x/>"}), ErrCorrupt},
		{"truncated zip", docxFiles(t, map[string]string{"word/document.xml": strings.Repeat("<w:p/>", 1000)})[:100], ErrCorrupt},
		{"malformed xml", docxFiles(t, map[string]string{"word/document.xml": "<w:document><w:body>"}), ErrCorrupt},
		{"no text", docxFiles(t, map[string]string{"word/document.xml": wordXML("document", "<w:body>"+para("", "  ")+"</w:body>")}), ErrNoText},
		{"external entity", docxFiles(t, map[string]string{"word/document.xml": `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>` +
			wordXML("document", "<w:body><w:p><w:r><w:t>&x;</w:t></w:r></w:p></w:body>")}), ErrCorrupt},
		{"encrypted office file", append(append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 504)...), encryptedPackageName...), ErrEncrypted},
		{"legacy doc", append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 504)...), ErrUnsupportedFormat},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Extract(context.Background(), "upload.docx", tc.data)
			wantReason(t, err, tc.reason)
		})
	}
}

func TestExtractDOCXTotalSizeLimit(t *testing.T) {
	// Each part compresses about 3:1, far under the ratio limit, so only
	// the total stops this archive.
	var text strings.Builder
	for i := range 40000 {
		fmt.Fprintf(&text, "w%d ", i*7919%100003)
	}
	parts := map[string]string{"word/document.xml": wordXML("document", "<w:body>"+para("", text.String())+"</w:body>")}
	for i := range 3 {
		parts[fmt.Sprintf("word/footer%d.xml", i)] = wordXML("ftr", para("", text.String()))
	}
	e := newTestExtractor(t, Config{MaxUncompressedBytes: 600 << 10})

	_, err := e.Extract(context.Background(), "big.docx", docxFiles(t, parts))
	wantReason(t, err, ErrTooLarge)
}
