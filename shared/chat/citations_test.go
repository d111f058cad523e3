package chat

import (
	"strings"
	"testing"

	"github.com/google/uuid"
)

func testSources() []Source {
	page1, page2 := 1, 2
	return []Source{
		{Number: 1, ChunkID: uuid.New(), DocumentID: uuid.New(), Filename: "handbook.pdf", Page: &page1,
			Text: "Contoso provides every employee with 20 paid vacation days to support rest. Vacation eligibility begins on your first day."},
		{Number: 2, ChunkID: uuid.New(), DocumentID: uuid.New(), Filename: "handbook.pdf", Page: &page2,
			Text: "If you are absent for more than three consecutive days, a medical note may be required."},
		{Number: 3, ChunkID: uuid.New(), DocumentID: uuid.New(), Filename: "expenses.docx",
			Text: "Meals | $90 per meal | You should limit your meals to breakfast, lunch, and dinner."},
	}
}

func check(sources []Source, pieces ...string) (string, *CitationChecker) {
	c := NewCitationChecker(sources)
	var out strings.Builder
	for _, p := range pieces {
		out.WriteString(c.Write(p))
	}
	out.WriteString(c.Flush())
	return out.String(), c
}

func TestCitationCheckerCases(t *testing.T) {
	cases := []struct {
		name    string
		answer  string
		want    string
		chunks  []int // source indexes of the citations, in number order
		repairs int
		removes int
	}{
		{"valid markers renumbered by first use", "A note is required [2]. You get 20 days [1].",
			"A note is required [1]. You get 20 days [2].", []int{1, 0}, 0, 0},
		{"repeated marker collapses", "You get 20 paid vacation days [1][1].",
			"You get 20 paid vacation days [1].", []int{0}, 0, 0},
		{"list splits", "Days and notes [1,2].", "Days and notes [1][2].", []int{0, 1}, 0, 0},
		{"list with spaces", "Days and notes [2, 1].", "Days and notes [1][2].", []int{1, 0}, 0, 0},
		{"nested brackets", "You get 20 paid vacation days [[1]].", "You get 20 paid vacation days [1].", []int{0}, 0, 0},
		{"zero repaired by overlap", "A medical note is required after three consecutive days [0].",
			"A medical note is required after three consecutive days [1].", []int{1}, 1, 0},
		{"out of range repaired", "Meals are capped at $90 per meal [99].",
			"Meals are capped at $90 per meal [1].", []int{2}, 1, 0},
		{"unsupported out of range removed", "The moon is made of cheese [7].",
			"The moon is made of cheese .", nil, 0, 1},
		{"repair after full stop uses previous sentence", "A medical note is required after three consecutive days. [5]",
			"A medical note is required after three consecutive days. [1]", []int{1}, 1, 0},
		{"marker in inline code untouched", "Use `arr[1]` here, as the handbook says [1].",
			"Use `arr[1]` here, as the handbook says [1].", []int{0}, 0, 0},
		{"marker in fenced code untouched", "```\nx = y[3]\n```\nDays [3].",
			"```\nx = y[3]\n```\nDays [1].", []int{2}, 0, 0},
		{"markdown link stays", "See [the policy](http://example.test) [1].",
			"See [the policy](http://example.test) [1].", []int{0}, 0, 0},
		{"empty brackets stay", "An empty [] pair and [ ] too.", "An empty [] pair and [ ] too.", nil, 0, 0},
		{"unfinished marker at end stays", "Trailing [1", "Trailing [1", nil, 0, 0},
		{"same source reused keeps its number", "Days [1]. Notes [2]. Days again [1].",
			"Days [1]. Notes [2]. Days again [1].", []int{0, 1}, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sources := testSources()
			got, c := check(sources, tc.answer)
			if got != tc.want {
				t.Errorf("text = %q, want %q", got, tc.want)
			}
			citations := c.Citations()
			if len(citations) != len(tc.chunks) {
				t.Fatalf("got %d citations, want %d: %+v", len(citations), len(tc.chunks), citations)
			}
			for i, index := range tc.chunks {
				if citations[i].Number != i+1 {
					t.Errorf("citation %d has number %d", i, citations[i].Number)
				}
				if citations[i].ChunkID != sources[index].ChunkID {
					t.Errorf("citation %d cites %s, want source %d", i+1, citations[i].Filename, index+1)
				}
				if !strings.Contains(sources[index].Text, citations[i].Quote) || citations[i].Quote == "" {
					t.Errorf("quote %q is not an excerpt of the chunk", citations[i].Quote)
				}
			}
			if c.Repaired != tc.repairs {
				t.Errorf("repaired = %d, want %d", c.Repaired, tc.repairs)
			}
			if c.Removed != tc.removes {
				t.Errorf("removed = %d, want %d", c.Removed, tc.removes)
			}
		})
	}
}

func TestCitationCheckerSplitDeltas(t *testing.T) {
	answer := "A medical note is required [2]. You get 20 paid vacation days [[0]] and more `[1]` [1, 1]."
	whole, _ := check(testSources(), answer)
	var pieces []string
	for _, r := range answer {
		pieces = append(pieces, string(r))
	}
	streamed, c := check(testSources(), pieces...)
	if streamed != whole {
		t.Errorf("rune-by-rune output %q differs from whole output %q", streamed, whole)
	}
	want := "A medical note is required [1]. You get 20 paid vacation days [2] and more `[1]` [2]."
	if streamed != want {
		t.Errorf("text = %q, want %q", streamed, want)
	}
	if len(c.Citations()) != 2 {
		t.Errorf("got %d citations, want 2", len(c.Citations()))
	}
}

func TestCitationCheckerHoldsOnlyOpenMarker(t *testing.T) {
	c := NewCitationChecker(testSources())
	if got := c.Write("Twenty days "); got != "Twenty days " {
		t.Errorf("plain text held back: %q", got)
	}
	if got := c.Write("[1"); got != "" {
		t.Errorf("open marker sent early: %q", got)
	}
	if got := c.Write("] then"); got != "[1] then" {
		t.Errorf("closed marker = %q", got)
	}
}

func TestCitationCheckerNoSources(t *testing.T) {
	got, c := check(nil, "An answer with a marker [1] and [2].")
	if got != "An answer with a marker  and ." {
		t.Errorf("text = %q", got)
	}
	if len(c.Citations()) != 0 || c.Removed != 2 {
		t.Errorf("citations %v removed %d, want none and 2", c.Citations(), c.Removed)
	}
}

func TestQuoteIsVerbatimAndShort(t *testing.T) {
	long := strings.Repeat("word ", 100) + "end."
	q := quote(long, "word")
	if len([]rune(q)) > QuoteMaxRunes {
		t.Errorf("quote has %d runes, want at most %d", len([]rune(q)), QuoteMaxRunes)
	}
	if !strings.HasPrefix(long, q) {
		t.Errorf("quote %q is not an excerpt", q)
	}
	text := "First sentence about lunch. Second sentence about hotels and nights."
	if got := quote(text, "hotel night"); got != "Second sentence about hotels and nights." {
		t.Errorf("quote = %q, want the hotel sentence", got)
	}
	if got := quote("Voluntary Resignation\n- Provide two weeks’ written notice.", "notice"); got != "Provide two weeks’ written notice." {
		t.Errorf("quote = %q, want the list item without its marker", got)
	}
}

// BenchmarkCitationCheckerStream measures checking a 40-sentence answer
// that arrives in 4-byte deltas, with one bad marker in every fifth
// sentence.
func BenchmarkCitationCheckerStream(b *testing.B) {
	var answer strings.Builder
	for i := range 40 {
		marker := "[1]"
		if i%5 == 4 {
			marker = "[9]"
		}
		answer.WriteString("A medical note is required after three consecutive days " + marker + ". ")
	}
	text := answer.String()
	sources := testSources()
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for range b.N {
		c := NewCitationChecker(sources)
		for i := 0; i < len(text); i += 4 {
			c.Write(text[i:min(i+4, len(text))])
		}
		c.Flush()
	}
}
