package extract

import (
	"context"
	"strings"
	"testing"
)

// wantBlocks compares blocks one by one.
func wantBlocks(t *testing.T, got, want []Block) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d blocks, want %d:\n%s", len(got), len(want), dumpBlocks(got))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("block %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestExtractHTMLStructure(t *testing.T) {
	page := `<!DOCTYPE html><html><head><title>Ignored title</title><style>p{color:red}</style></head>
<body><nav><a href="/">Home</a></nav>
<h1>Leave  policy</h1>
<p>Employees get <b>20</b> days.<script>alert("x")</script></p>
<div>Loose text in a div<br>with a break</div>
<ul><li>First item</li><li>Second item<ul><li>Nested item</li></ul></li></ul>
<h3>Limits</h3>
<table><caption>Expense limits</caption><thead><tr><th>Item</th><th>Limit</th></tr></thead>
<tbody><tr><td>Hotel</td><td>$200 <em>per night</em></td></tr><tr><td>Meals</td><td>$90</td></tr></tbody></table>
<p>Caf&eacute; &amp; bar</p>
</body></html>`

	e := newTestExtractor(t, Config{})
	doc, err := e.Extract(context.Background(), "policy.html", []byte(page))
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	if doc.Format != FormatHTML {
		t.Errorf("Format = %q, want %q", doc.Format, FormatHTML)
	}
	wantBlocks(t, doc.Pages[0].Blocks, []Block{
		{Kind: Heading, Level: 1, Text: "Leave policy"},
		{Kind: Paragraph, Text: "Employees get 20 days."},
		{Kind: Paragraph, Text: "Loose text in a div with a break"},
		{Kind: ListItem, Text: "First item"},
		{Kind: ListItem, Text: "Second item"},
		{Kind: ListItem, Text: "Nested item"},
		{Kind: Heading, Level: 3, Text: "Limits"},
		{Kind: Paragraph, Text: "Expense limits"},
		{Kind: Table, Text: "Item | Limit\nHotel | $200 per night\nMeals | $90"},
		{Kind: Paragraph, Text: "Café & bar"},
	})
}

func TestExtractHTMLLegacyCharset(t *testing.T) {
	page := []byte("<html><head><meta charset=\"windows-1252\"></head><body><p>Caf\xe9 menu</p></body></html>")
	e := newTestExtractor(t, Config{})
	doc, err := e.Extract(context.Background(), "menu.htm", page)
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	if got := doc.Pages[0].Text(); got != "Café menu" {
		t.Errorf("text = %q, want %q", got, "Café menu")
	}
}

func TestExtractHTMLHostile(t *testing.T) {
	e := newTestExtractor(t, Config{})

	t.Run("deep nesting", func(t *testing.T) {
		page := strings.Repeat("<div>", 100000) + "deep" + strings.Repeat("</div>", 100000)
		_, err := e.Extract(context.Background(), "deep.html", []byte(page))
		wantReason(t, err, ErrTooLarge)
	})
	t.Run("deep unclosed inline tags", func(t *testing.T) {
		page := "<html><body>" + strings.Repeat("<span>", 5000) + "deep"
		_, err := e.Extract(context.Background(), "deep.html", []byte(page))
		wantReason(t, err, ErrTooLarge)
	})
	t.Run("nesting within the limit", func(t *testing.T) {
		page := strings.Repeat("<div>", 200) + "fine" + strings.Repeat("</div>", 200)
		doc, err := e.Extract(context.Background(), "ok.html", []byte(page))
		if err != nil {
			t.Fatalf("Extract: %v", err)
		}
		if got := doc.Pages[0].Text(); got != "fine" {
			t.Errorf("text = %q", got)
		}
	})
	t.Run("many unclosed paragraphs", func(t *testing.T) {
		// p and li close themselves, so they must not count as nesting.
		page := "<body>" + strings.Repeat("<p>para", 1000)
		doc, err := e.Extract(context.Background(), "flat.html", []byte(page))
		if err != nil {
			t.Fatalf("Extract: %v", err)
		}
		if n := len(doc.Pages[0].Blocks); n != 1000 {
			t.Errorf("got %d blocks, want 1000", n)
		}
	})
	t.Run("only scripts", func(t *testing.T) {
		page := "<html><head><script>var secret = 1</script></head><body><nav>Menu</nav>  </body></html>"
		_, err := e.Extract(context.Background(), "empty.html", []byte(page))
		wantReason(t, err, ErrNoText)
	})
}

func TestExtractMarkdownStructure(t *testing.T) {
	source := "# Leave policy\n\nEmployees get **20** days\nof paid leave.\n\n" +
		"## Vacation\n\n- Ask [two weeks](https://example.test) ahead\n- Use the `time-off` system\n  1. Nested step\n\n" +
		"| Item | Limit |\n|------|-------|\n| Hotel | $200 |\n| Meals | $90 |\n\n" +
		"```\ncode  block\n```\n\n<div>raw html</div>\n\n> Quoted text\n\n####### Not a heading\n"

	e := newTestExtractor(t, Config{})
	doc, err := e.Extract(context.Background(), "policy.md", []byte(source))
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	if doc.Format != FormatMarkdown {
		t.Errorf("Format = %q, want %q", doc.Format, FormatMarkdown)
	}
	wantBlocks(t, doc.Pages[0].Blocks, []Block{
		{Kind: Heading, Level: 1, Text: "Leave policy"},
		{Kind: Paragraph, Text: "Employees get 20 days of paid leave."},
		{Kind: Heading, Level: 2, Text: "Vacation"},
		{Kind: ListItem, Text: "Ask two weeks ahead"},
		{Kind: ListItem, Text: "Use the time-off system"},
		{Kind: ListItem, Text: "Nested step"},
		{Kind: Table, Text: "Item | Limit\nHotel | $200\nMeals | $90"},
		{Kind: Paragraph, Text: "code block"},
		{Kind: Paragraph, Text: "Quoted text"},
		{Kind: Paragraph, Text: "####### Not a heading"},
	})
}

func TestExtractTextParagraphs(t *testing.T) {
	e := newTestExtractor(t, Config{})

	t.Run("utf-8", func(t *testing.T) {
		source := "\ufeffFirst paragraph\r\nwraps here.\r\n\r\n  \r\nSecond\tparagraph.\n \n\nThird.  "
		doc, err := e.Extract(context.Background(), "notes.txt", []byte(source))
		if err != nil {
			t.Fatalf("Extract: %v", err)
		}
		wantBlocks(t, doc.Pages[0].Blocks, []Block{
			{Kind: Paragraph, Text: "First paragraph wraps here."},
			{Kind: Paragraph, Text: "Second paragraph."},
			{Kind: Paragraph, Text: "Third."},
		})
	})
	t.Run("utf-16 with byte order mark", func(t *testing.T) {
		source := []byte{0xFF, 0xFE, 'H', 0, 'i', 0, ' ', 0, 0xE9, 0}
		doc, err := e.Extract(context.Background(), "notes.txt", source)
		if err != nil {
			t.Fatalf("Extract: %v", err)
		}
		if got := doc.Pages[0].Text(); got != "Hi é" {
			t.Errorf("text = %q, want %q", got, "Hi é")
		}
	})
	t.Run("invalid utf-8", func(t *testing.T) {
		_, err := e.Extract(context.Background(), "notes.txt", []byte("Caf\xe9"))
		wantReason(t, err, ErrCorrupt)
	})
	t.Run("binary", func(t *testing.T) {
		_, err := e.Extract(context.Background(), "notes.txt", []byte("MZ\x00\x00binary"))
		wantReason(t, err, ErrCorrupt)
	})
	t.Run("zero bytes", func(t *testing.T) {
		_, err := e.Extract(context.Background(), "notes.txt", nil)
		wantReason(t, err, ErrNoText)
	})
	t.Run("only white space", func(t *testing.T) {
		_, err := e.Extract(context.Background(), "notes.md", []byte(" \n\t\n\u00a0\n"))
		wantReason(t, err, ErrNoText)
	})
}

func TestDetectFormat(t *testing.T) {
	handbook := readFile(t, handbookPDF)
	expenses := readFile(t, expensesDOCX)
	xlsx := docxFiles(t, map[string]string{"xl/workbook.xml": "<workbook/>"})

	cases := []struct {
		name     string
		filename string
		data     []byte
		format   string
		reason   error
	}{
		{"pdf by content", "report.bin", handbook, FormatPDF, nil},
		{"pdf after junk", "report", append([]byte("junk\n"), handbook...), FormatPDF, nil},
		{"docx by content", "report.zip", expenses, FormatDOCX, nil},
		{"docx named pdf", "report.pdf", expenses, FormatDOCX, nil},
		{"html by content", "page", []byte("<!DOCTYPE html><p>x</p>"), FormatHTML, nil},
		{"html named txt", "page.txt", []byte("<html><body>x</body></html>"), FormatHTML, nil},
		{"html by extension", "page.HTM", []byte("just text"), FormatHTML, nil},
		{"markdown keeps inline html", "notes.md", []byte("<div>x</div>\n# Title"), FormatMarkdown, nil},
		{"markdown long extension", "notes.markdown", []byte("# Title"), FormatMarkdown, nil},
		{"text", "notes.txt", []byte("plain"), FormatText, nil},
		{"text quoting the pdf header", "notes.txt", []byte("Files start with %PDF-1.7 bytes."), FormatText, nil},
		{"text without known extension", "notes.csv", []byte("a,b"), "", ErrUnsupportedFormat},
		{"xlsx", "sheet.xlsx", xlsx, "", ErrUnsupportedFormat},
		{"png", "photo.png", []byte("\x89PNG\r\n\x1a\n\x00\x00"), "", ErrUnsupportedFormat},
		{"random named pdf", "report.pdf", []byte("not a pdf at all"), "", ErrCorrupt},
		{"zip named docx without document", "report.docx", xlsx, "", ErrCorrupt},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			format, err := detectFormat(tc.filename, tc.data)
			if tc.reason != nil {
				wantReason(t, err, tc.reason)
				return
			}
			if err != nil {
				t.Fatalf("detectFormat: %v", err)
			}
			if format != tc.format {
				t.Errorf("format = %q, want %q", format, tc.format)
			}
		})
	}
}

func TestPDFPageBlocks(t *testing.T) {
	cases := []struct {
		name string
		text string
		want []Block
	}{
		{
			name: "trailing space marks wrapped lines",
			text: "Heading line\r\nThis long line wraps \r\nonto the next.\r\nShort.\r\n• A bullet that \r\ncontinues\r\n• Second bullet",
			want: []Block{
				{Kind: Paragraph, Text: "Heading line"},
				{Kind: Paragraph, Text: "This long line wraps onto the next."},
				{Kind: Paragraph, Text: "Short."},
				{Kind: ListItem, Text: "A bullet that continues"},
				{Kind: ListItem, Text: "Second bullet"},
			},
		},
		{
			name: "long lines continue without trailing spaces",
			text: "A line as long as the longest one on page\r\ncontinues here.\r\nTitle:\r\nA line as long as the longest one on page\r\nends.",
			want: []Block{
				{Kind: Paragraph, Text: "A line as long as the longest one on page continues here."},
				{Kind: Paragraph, Text: "Title:"},
				{Kind: Paragraph, Text: "A line as long as the longest one on page ends."},
			},
		},
		{
			name: "soft hyphen, ligature and accents",
			text: "The \uFB01nal isosur\uFFFEface and func\x02tion by Br\u00a8oker.",
			want: []Block{{Kind: Paragraph, Text: "The final isosurface and function by Bröker."}},
		},
		{
			name: "compound split at a hyphen",
			text: "A rather long line that ends in well-\r\nbeing and -5 degrees.",
			want: []Block{{Kind: Paragraph, Text: "A rather long line that ends in well-being and -5 degrees."}},
		},
		{
			name: "only spaces",
			text: "   \r\n \r\n",
			want: nil,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantBlocks(t, pdfPageBlocks(tc.text), tc.want)
		})
	}
}
