package chat

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Source is a retrieved chunk as the prompt numbers it: Number n is cited
// as [n].
type Source struct {
	Number      int       `json:"number"`
	ChunkID     uuid.UUID `json:"chunk_id"`
	DocumentID  uuid.UUID `json:"document_id"`
	Filename    string    `json:"filename"`
	Page        *int      `json:"page"`
	HeadingPath []string  `json:"heading_path"`
	Score       float64   `json:"score"`
	Text        string    `json:"-"`
}

// Citation is a checked reference from an answer to the chunk that
// supports it. Number is the [n] marker in the answer's text.
type Citation struct {
	Number     int       `json:"number"`
	DocumentID uuid.UUID `json:"document_id"`
	Filename   string    `json:"filename"`
	Page       *int      `json:"page"`
	ChunkID    uuid.UUID `json:"chunk_id"`
	// Quote is a verbatim excerpt of the chunk, the sentence that best
	// supports the claim the citation ends.
	Quote string `json:"quote"`
}

// Limits of the citation checker.
const (
	// RepairShareMin is the smallest share of a claim's terms that a
	// chunk must contain to take over a citation whose number points
	// nowhere. Below it the citation is removed.
	RepairShareMin = 0.2
	// QuoteMaxRunes caps a citation's quote.
	QuoteMaxRunes = 240
	// markerMaxRunes caps a pending marker such as "[1, 2, 3]"; a longer
	// bracket run is ordinary text.
	markerMaxRunes = 24
)

// CitationChecker rewrites an answer's inline [n] markers as the answer
// streams through it. A marker naming a source is kept; one naming no
// source, such as [0] or [99], is repaired to the source whose text best
// covers the sentence the marker ends, or removed when none covers it.
// Repeated markers in one run ([1][1]) collapse, lists ([1, 2]) split into
// separate markers, surplus brackets ([[1]]) go, and markers inside
// Markdown code spans or fences are left as text. Kept markers are
// renumbered 1, 2, ... in order of first use, so the answer never carries
// a number the reply's citations do not explain.
//
// Text is held back only while a possible marker is open, so a streamed
// answer is delayed by at most markerMaxRunes runes.
type CitationChecker struct {
	sources     []Source
	sourceTerms []map[string]bool

	output strings.Builder

	marker      strings.Builder
	inMarker    bool
	opens       int
	closes      int
	markerDigit bool

	backtickRun int
	codeFence   int

	sentence     strings.Builder
	prevSentence string
	lastRune     rune

	numberOf  map[int]int
	citations []Citation
	inRun     map[int]bool

	// Repaired and Removed count markers that pointed nowhere.
	Repaired int
	Removed  int
}

// NewCitationChecker returns a checker for an answer grounded on sources,
// whose Number fields must be 1..len(sources) in order.
func NewCitationChecker(sources []Source) *CitationChecker {
	c := &CitationChecker{sources: sources, numberOf: map[int]int{}, inRun: map[int]bool{}}
	for _, s := range sources {
		c.sourceTerms = append(c.sourceTerms, terms(strings.Join(s.HeadingPath, " ")+" "+s.Text))
	}
	return c
}

// Write takes the next piece of the answer and returns the checked text
// that can be sent on. It may return "" while a marker is open.
func (c *CitationChecker) Write(text string) string {
	start := c.output.Len()
	for _, r := range text {
		c.feed(r)
	}
	return c.output.String()[start:]
}

// Flush ends the answer and returns the text still held back: an
// unfinished marker is sent on as plain text.
func (c *CitationChecker) Flush() string {
	start := c.output.Len()
	if c.inMarker {
		c.abortMarker()
	}
	return c.output.String()[start:]
}

// Text returns the whole checked answer written so far.
func (c *CitationChecker) Text() string {
	return c.output.String()
}

// Citations returns one citation per kept marker number, in number order.
func (c *CitationChecker) Citations() []Citation {
	return c.citations
}

func (c *CitationChecker) feed(r rune) {
	if r == '`' && !c.inMarker {
		c.backtickRun++
		c.emit(r)
		return
	}
	if c.backtickRun > 0 {
		switch {
		case c.codeFence == 0:
			c.codeFence = c.backtickRun
		case c.backtickRun == c.codeFence:
			c.codeFence = 0
		}
		c.backtickRun = 0
	}
	if c.codeFence > 0 {
		c.emit(r)
		return
	}
	if c.inMarker {
		c.feedMarker(r)
		return
	}
	if r == '[' {
		c.inMarker, c.opens = true, 1
		c.marker.WriteRune(r)
		return
	}
	c.emit(r)
}

func (c *CitationChecker) feedMarker(r rune) {
	switch {
	case r == '[' && !c.markerDigit:
		c.opens++
	case unicode.IsDigit(r) && c.closes == 0:
		c.markerDigit = true
	case (r == ',' || r == ' ') && c.closes == 0:
	case r == ']' && c.markerDigit:
		c.closes++
		c.marker.WriteRune(r)
		if c.closes == c.opens {
			c.finishMarker()
		}
		return
	default:
		if c.closes > 0 {
			// "[[1]x": the digits closed once; treat the lone extra
			// opening bracket as part of the marker.
			c.finishMarker()
		} else {
			c.abortMarker()
		}
		c.feed(r)
		return
	}
	c.marker.WriteRune(r)
	if utf8.RuneCountInString(c.marker.String()) > markerMaxRunes {
		c.abortMarker()
	}
}

// abortMarker sends the held-back bracket text on unchanged.
func (c *CitationChecker) abortMarker() {
	held := c.marker.String()
	c.resetMarker()
	for _, r := range held {
		c.emit(r)
	}
}

func (c *CitationChecker) resetMarker() {
	c.marker.Reset()
	c.inMarker, c.opens, c.closes, c.markerDigit = false, 0, 0, false
}

func (c *CitationChecker) finishMarker() {
	held := c.marker.String()
	c.resetMarker()
	for _, field := range strings.FieldsFunc(held, func(r rune) bool { return !unicode.IsDigit(r) }) {
		n, err := strconv.Atoi(field)
		index := n - 1
		if err != nil || index < 0 || index >= len(c.sources) {
			index = c.repairTarget()
			if index < 0 {
				c.Removed++
				continue
			}
			c.Repaired++
		}
		if c.inRun[index] {
			continue
		}
		c.inRun[index] = true
		number, seen := c.numberOf[index]
		if !seen {
			number = len(c.citations) + 1
			c.numberOf[index] = number
			source := c.sources[index]
			c.citations = append(c.citations, Citation{
				Number: number, DocumentID: source.DocumentID, Filename: source.Filename, Page: source.Page,
				ChunkID: source.ChunkID, Quote: quote(source.Text, c.claim()),
			})
		}
		c.output.WriteString("[" + strconv.Itoa(number) + "]")
	}
}

// claim returns the sentence a marker ends: the current one, or the one
// before when the marker follows the full stop.
func (c *CitationChecker) claim() string {
	if current := c.sentence.String(); len(terms(current)) > 0 {
		return current
	}
	return c.prevSentence
}

// repairTarget returns the index of the source that best covers the claim,
// or -1 when none covers at least RepairShareMin of its terms.
func (c *CitationChecker) repairTarget() int {
	claimTerms := terms(c.claim())
	best, bestShare := -1, 0.0
	for i, sourceTerms := range c.sourceTerms {
		share, matched := overlap(claimTerms, sourceTerms)
		if matched > 0 && share >= RepairShareMin && share > bestShare {
			best, bestShare = i, share
		}
	}
	return best
}

func (c *CitationChecker) emit(r rune) {
	c.output.WriteRune(r)
	if !unicode.IsSpace(r) {
		clear(c.inRun)
	}
	if r == '\n' || (unicode.IsSpace(r) && strings.ContainsRune(".!?", c.lastRune)) {
		if len(terms(c.sentence.String())) > 0 {
			c.prevSentence = c.sentence.String()
		}
		c.sentence.Reset()
	} else {
		c.sentence.WriteRune(r)
	}
	c.lastRune = r
}

// quote returns the sentence of text that shares the most terms with
// claim, cut to QuoteMaxRunes at a word boundary. It is always a substring
// of text.
func quote(text, claim string) string {
	claimTerms := terms(claim)
	best, bestMatched := "", -1
	for _, s := range sentences(text) {
		_, matched := overlap(claimTerms, terms(s))
		if matched > bestMatched {
			best, bestMatched = s, matched
		}
	}
	return truncateWords(best, QuoteMaxRunes)
}

// sentences splits text into its lines and each line into sentences at
// ".", "!" or "?" followed by a space, so "expenses@contoso.com" and
// "9:00" stay whole. A list item loses its "- " marker. Each sentence is a
// substring of text.
func sentences(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimPrefix(line, "- ")
		start := 0
		for i := 0; i < len(line); i++ {
			if strings.IndexByte(".!?", line[i]) >= 0 && i+1 < len(line) && line[i+1] == ' ' {
				if s := strings.TrimSpace(line[start : i+1]); s != "" {
					out = append(out, s)
				}
				start = i + 1
			}
		}
		if s := strings.TrimSpace(line[start:]); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// truncateWords cuts s to at most limit runes, at the last space before the
// limit when there is one.
func truncateWords(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	cut := string([]rune(s)[:limit])
	if i := strings.LastIndexByte(cut, ' '); i > limit/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,;:")
}
