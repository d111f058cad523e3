package chunking

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/bondingai/platform/shared/extract"
)

// wordCounter counts whitespace-separated words times perWord, rounded up.
// perWord 1.3 approximates the SentencePiece tokenizer of the default
// model on English text.
type wordCounter struct{ perWord float64 }

func (c wordCounter) CountTokens(text string) int {
	return int(math.Ceil(float64(len(strings.Fields(text))) * c.perWord))
}

// charCounter counts one token per four bytes, rounded up, so a long word
// alone can exceed the limit.
type charCounter struct{}

func (charCounter) CountTokens(text string) int {
	return (len(text) + 3) / 4
}

var words = wordCounter{perWord: 1}

func doc(pages ...extract.Page) *extract.Document {
	return &extract.Document{Format: extract.FormatDOCX, Pages: pages}
}

func page(number int, blocks ...extract.Block) extract.Page {
	return extract.Page{Number: number, Blocks: blocks}
}

func para(text string) extract.Block {
	return extract.Block{Kind: extract.Paragraph, Text: text}
}

func head(level int, text string) extract.Block {
	return extract.Block{Kind: extract.Heading, Level: level, Text: text}
}

func TestSplitHeadingPaths(t *testing.T) {
	d := doc(page(0,
		para("Intro text before any heading."),
		head(1, "Leave policy"),
		para("Leave is granted yearly."),
		head(2, "Vacation"),
		para("Employees get 20 days."),
		extract.Block{Kind: extract.ListItem, Text: "Ask two weeks ahead."},
		head(2, "Sick leave"),
		para("A note is needed after three days."),
		head(1, "Expenses"),
		head(2, "Empty section"),
		head(2, "Travel"),
		para("Book economy."),
	))

	got := Split(d, words, Options{MaxTokens: 50})
	want := []Chunk{
		{Index: 0, Text: "Intro text before any heading.", Page: 0, HeadingPath: []string{}, Tokens: 5},
		{Index: 1, Text: "Leave policy\nLeave is granted yearly.", Page: 0, HeadingPath: []string{"Leave policy"}, Tokens: 6},
		{Index: 2, Text: "Vacation\nEmployees get 20 days.\n- Ask two weeks ahead.", Page: 0, HeadingPath: []string{"Leave policy", "Vacation"}, Tokens: 10},
		{Index: 3, Text: "Sick leave\nA note is needed after three days.", Page: 0, HeadingPath: []string{"Leave policy", "Sick leave"}, Tokens: 9},
		{Index: 4, Text: "Travel\nBook economy.", Page: 0, HeadingPath: []string{"Expenses", "Travel"}, Tokens: 3},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%s\nwant\n%s", dump(got), dump(want))
	}
}

func dump(chunks []Chunk) string {
	var b strings.Builder
	for _, c := range chunks {
		fmt.Fprintf(&b, "#%d page %d %q tokens %d: %q\n", c.Index, c.Page, c.HeadingPath, c.Tokens, c.Text)
	}
	return b.String()
}

func TestSplitPageBoundaries(t *testing.T) {
	d := doc(
		page(1, head(1, "Policy"), para("One two three. Four five six.")),
		page(2, para("Seven eight nine.")),
		page(3),
		page(4, para("   "), para("Ten eleven.")),
	)
	got := Split(d, words, Options{MaxTokens: 100, OverlapTokens: 10})

	wantPages := []int{1, 2, 4}
	if len(got) != len(wantPages) {
		t.Fatalf("got %d chunks, want %d:\n%s", len(got), len(wantPages), dump(got))
	}
	for i, c := range got {
		if c.Page != wantPages[i] {
			t.Errorf("chunk %d on page %d, want %d", i, c.Page, wantPages[i])
		}
		// The section that started on page 1 continues on later pages.
		if !slices.Equal(c.HeadingPath, []string{"Policy"}) {
			t.Errorf("chunk %d heading path %q, want [Policy]", i, c.HeadingPath)
		}
	}
	// Overlap never carries text across a page.
	if got[1].Text != "Seven eight nine." {
		t.Errorf("page 2 chunk = %q, want only page 2 text", got[1].Text)
	}
}

func TestSplitOverlap(t *testing.T) {
	text := "One two three four. Five six seven eight. Nine ten eleven twelve. Thirteen fourteen fifteen sixteen."
	got := Split(doc(page(0, para(text))), words, Options{MaxTokens: 8, OverlapTokens: 4})

	want := []string{
		"One two three four. Five six seven eight.",
		"Five six seven eight. Nine ten eleven twelve.",
		"Nine ten eleven twelve. Thirteen fourteen fifteen sixteen.",
	}
	var texts []string
	for _, c := range got {
		texts = append(texts, c.Text)
	}
	if !slices.Equal(texts, want) {
		t.Errorf("got %q, want %q", texts, want)
	}

	// With no overlap each sentence appears once.
	got = Split(doc(page(0, para(text))), words, Options{MaxTokens: 8})
	if len(got) != 2 {
		t.Errorf("no overlap: got %d chunks, want 2:\n%s", len(got), dump(got))
	}
}

func TestSplitLongSentenceAndWord(t *testing.T) {
	t.Run("sentence split between words", func(t *testing.T) {
		sentence := strings.TrimSpace(strings.Repeat("word ", 25)) + "."
		got := Split(doc(page(0, para(sentence))), words, Options{MaxTokens: 10})
		if len(got) != 3 {
			t.Fatalf("got %d chunks, want 3:\n%s", len(got), dump(got))
		}
		total := 0
		for _, c := range got {
			if c.Tokens > 10 {
				t.Errorf("chunk %d has %d tokens", c.Index, c.Tokens)
			}
			total += c.Tokens
		}
		if total != 25 {
			t.Errorf("chunks hold %d words, want 25", total)
		}
	})
	t.Run("word cut between characters", func(t *testing.T) {
		word := strings.Repeat("abcdefgh", 50) // 400 bytes, 100 tokens
		got := Split(doc(page(0, para("See "+word+" here."))), charCounter{}, Options{MaxTokens: 16})
		var joined strings.Builder
		for _, c := range got {
			if c.Tokens > 16 {
				t.Errorf("chunk %d has %d tokens, limit 16", c.Index, c.Tokens)
			}
			joined.WriteString(strings.ReplaceAll(c.Text, " ", ""))
		}
		if !strings.Contains(joined.String(), word) {
			t.Errorf("the pieces do not rebuild the word")
		}
	})
}

func TestSplitTableRows(t *testing.T) {
	table := extract.Block{Kind: extract.Table, Text: "Category | Limit\nHotel | $200 per night\nMeals | $90 per meal\nTaxi | $75 per ride\nOffice | $25 per month"}
	got := Split(doc(page(0, para("Limits follow."), table)), words, Options{MaxTokens: 12, OverlapTokens: 3})

	for _, c := range got {
		if c.Tokens > 12 {
			t.Errorf("chunk %d has %d tokens", c.Index, c.Tokens)
		}
		if strings.Contains(c.Text, "$") && !strings.HasPrefix(c.Text, "Category | Limit\n") && !strings.Contains(c.Text, "\nCategory | Limit\n") {
			t.Errorf("chunk %d has rows without the header: %q", c.Index, c.Text)
		}
	}
	for _, row := range []string{"Hotel | $200 per night", "Meals | $90 per meal", "Taxi | $75 per ride", "Office | $25 per month"} {
		found := false
		for _, c := range got {
			if slices.Contains(strings.Split(c.Text, "\n"), row) {
				found = true
			}
		}
		if !found {
			t.Errorf("row %q is not whole in any chunk:\n%s", row, dump(got))
		}
	}
}

func TestSplitTableHeaderNotDangling(t *testing.T) {
	table := extract.Block{Kind: extract.Table, Text: "Category | Limit\nHotel | $200 per night"}
	got := Split(doc(page(0, para("One two three four five six seven eight."), table)), words, Options{MaxTokens: 12})

	want := []string{"One two three four five six seven eight.", "Category | Limit\nHotel | $200 per night"}
	var texts []string
	for _, c := range got {
		texts = append(texts, c.Text)
	}
	if !slices.Equal(texts, want) {
		t.Errorf("got %q, want %q", texts, want)
	}
}

func TestSplitEmpty(t *testing.T) {
	d := doc(page(0, para(""), para(" \n\t "), head(1, "Only a heading")))
	if got := Split(d, words, DefaultOptions()); len(got) != 0 {
		t.Errorf("got %d chunks, want none:\n%s", len(got), dump(got))
	}
	if got := Split(doc(), words, DefaultOptions()); len(got) != 0 {
		t.Errorf("empty document gave %d chunks", len(got))
	}
}

// randomDocument builds a document of pages with headings, paragraphs of
// numbered sentences, list items and tables, where every sentence is
// unique so its chunk can be found.
func randomDocument(rng *rand.Rand) *extract.Document {
	serial := 0
	word := func() string {
		serial++
		return fmt.Sprintf("w%d", serial)
	}
	sentence := func(maxWords int) string {
		n := 1 + rng.IntN(maxWords)
		parts := make([]string, n)
		for i := range parts {
			parts[i] = word()
		}
		parts[0] = "S" + parts[0]
		return strings.Join(parts, " ") + "."
	}

	d := &extract.Document{Format: extract.FormatPDF}
	for number := 1; number <= 1+rng.IntN(5); number++ {
		p := extract.Page{Number: number}
		for range rng.IntN(12) {
			switch rng.IntN(6) {
			case 0:
				p.Blocks = append(p.Blocks, head(1+rng.IntN(3), "Heading "+word()))
			case 1:
				p.Blocks = append(p.Blocks, extract.Block{Kind: extract.ListItem, Text: sentence(12)})
			case 2:
				var rows []string
				for range 1 + rng.IntN(6) {
					rows = append(rows, word()+" | "+word()+" "+word()+" | "+strings.TrimSuffix(sentence(8), "."))
				}
				p.Blocks = append(p.Blocks, extract.Block{Kind: extract.Table, Text: strings.Join(rows, "\n")})
			default:
				var parts []string
				for range 1 + rng.IntN(6) {
					// Now and then a sentence far longer than any limit.
					limit := 20
					if rng.IntN(15) == 0 {
						limit = 300
					}
					parts = append(parts, sentence(limit))
				}
				p.Blocks = append(p.Blocks, para(strings.Join(parts, " ")))
			}
		}
		d.Pages = append(d.Pages, p)
	}
	return d
}

func TestSplitProperties(t *testing.T) {
	counters := map[string]TokenCounter{"words": words, "sentencepiece estimate": wordCounter{perWord: 1.3}}
	for seed := range uint64(40) {
		for name, counter := range counters {
			for _, opts := range []Options{{MaxTokens: 8}, {MaxTokens: 16, OverlapTokens: 6}, {MaxTokens: 40, OverlapTokens: 12}, DefaultOptions()} {
				rng := rand.New(rand.NewPCG(seed, 7))
				d := randomDocument(rng)
				t.Run(fmt.Sprintf("seed %d %s max %d overlap %d", seed, name, opts.MaxTokens, opts.OverlapTokens), func(t *testing.T) {
					checkProperties(t, d, counter, opts)
				})
			}
		}
	}
}

func checkProperties(t *testing.T, d *extract.Document, counter TokenCounter, opts Options) {
	chunks := Split(d, counter, opts)

	if again := Split(d, counter, opts); !reflect.DeepEqual(chunks, again) {
		t.Fatal("two runs gave different chunks")
	}

	lastPage := -1
	for i, c := range chunks {
		if c.Index != i {
			t.Errorf("chunk %d has Index %d", i, c.Index)
		}
		if c.Tokens != counter.CountTokens(c.Text) || c.Tokens > opts.MaxTokens {
			t.Errorf("chunk %d: Tokens %d, counted %d, limit %d", i, c.Tokens, counter.CountTokens(c.Text), opts.MaxTokens)
		}
		if strings.TrimSpace(c.Text) == "" {
			t.Errorf("chunk %d is empty", i)
		}
		if c.Page < lastPage {
			t.Errorf("chunk %d on page %d after page %d", i, c.Page, lastPage)
		}
		lastPage = c.Page
	}

	// Every sentence or row that fits lands whole in a chunk of its page,
	// in reading order; longer ones keep every word on their page.
	position := 0
	for _, p := range d.Pages {
		for _, b := range p.Blocks {
			if b.Kind == extract.Heading {
				continue
			}
			for _, u := range blockUnits(b, 0) {
				text := strings.TrimPrefix(u.text, listItemPrefix)
				if counter.CountTokens(u.text) > opts.MaxTokens {
					for _, w := range strings.Fields(text) {
						if !slices.ContainsFunc(chunks, func(c Chunk) bool { return c.Page == p.Number && strings.Contains(c.Text, w) }) {
							t.Fatalf("word %q of a long sentence on page %d is in no chunk", w, p.Number)
						}
					}
					continue
				}
				found := slices.IndexFunc(chunks[position:], func(c Chunk) bool {
					return c.Page == p.Number && strings.Contains(c.Text, text)
				})
				if found < 0 {
					t.Fatalf("%q (page %d) is in no chunk at or after chunk %d:\n%s", text, p.Number, position, dump(chunks))
				}
				position += found
			}
		}
	}
}

func TestSplitRealDocuments(t *testing.T) {
	e, err := extract.New(extract.Config{CacheDir: "../../.local/cache/wazero"})
	if err != nil {
		t.Fatalf("extract.New: %v", err)
	}
	defer e.Close()
	counter := wordCounter{perWord: 1.3}

	t.Run("handbook pdf", func(t *testing.T) {
		data, err := os.ReadFile("../../testdata/documents/contoso_employee_handbook.pdf")
		if err != nil {
			t.Fatal(err)
		}
		d, err := e.Extract(context.Background(), "handbook.pdf", data)
		if err != nil {
			t.Fatal(err)
		}
		chunks := Split(d, counter, DefaultOptions())
		for answer, page := range map[string]int{"20 paid vacation days": 1, "three consecutive days": 2, "paid out": 3} {
			if !slices.ContainsFunc(chunks, func(c Chunk) bool { return c.Page == page && strings.Contains(c.Text, answer) }) {
				t.Errorf("no chunk on page %d holds %q:\n%s", page, answer, dump(chunks))
			}
		}
		for _, c := range chunks {
			if c.Tokens > MaxTokensDefault {
				t.Errorf("chunk %d has %d tokens", c.Index, c.Tokens)
			}
		}
	})

	t.Run("expense policy docx", func(t *testing.T) {
		data, err := os.ReadFile("../../testdata/documents/expenses_policy.docx")
		if err != nil {
			t.Fatal(err)
		}
		d, err := e.Extract(context.Background(), "expenses.docx", data)
		if err != nil {
			t.Fatal(err)
		}
		chunks := Split(d, counter, DefaultOptions())
		for label, limit := range map[string]string{"Accommodation": "$200", "Meals": "$90"} {
			ok := slices.ContainsFunc(chunks, func(c Chunk) bool {
				return strings.Contains(c.Text, label+" | "+limit) && strings.Contains(c.Text, "Expense Category | Limit | Guidelines")
			})
			if !ok {
				t.Errorf("no chunk holds %q with its limit %q and the header row:\n%s", label, limit, dump(chunks))
			}
		}
		for _, c := range chunks {
			if !slices.Equal(c.HeadingPath, []string{"Contoso Corp. Expense Policy"}) {
				t.Errorf("chunk %d heading path %q", c.Index, c.HeadingPath)
			}
		}
	})
}

func BenchmarkSplitDebianManual(b *testing.B) {
	data, err := os.ReadFile("/usr/share/doc/gnuplot/gnuplot.pdf")
	if err != nil {
		b.Fatalf("read the manual (apt-get install -y gnuplot-doc): %v", err)
	}
	e, err := extract.New(extract.Config{CacheDir: "../../.local/cache/wazero"})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	d, err := e.Extract(context.Background(), "gnuplot.pdf", data)
	if err != nil {
		b.Fatal(err)
	}
	counter := wordCounter{perWord: 1.3}
	b.ResetTimer()

	chunks := 0
	for b.Loop() {
		chunks += len(Split(d, counter, DefaultOptions()))
	}
	b.ReportMetric(float64(chunks)/b.Elapsed().Seconds(), "chunks/s")
}
