package chunking

import (
	"strings"

	"github.com/bondingai/platform/shared/extract"
	"github.com/rivo/uniseg"
)

// unit is the smallest piece of text the builder places: a sentence, a
// table row or a heading, or a part of an over-long one.
type unit struct {
	text string
	kind extract.BlockKind
	// block identifies the block the unit came from; units of one
	// paragraph are joined by spaces, those of different blocks by
	// newlines.
	block int
	// tableHeader marks the first row of a table.
	tableHeader bool
}

// listItemPrefix starts the text of a list item in a chunk.
const listItemPrefix = "- "

// blockUnits splits a paragraph or list item into sentences and a table
// into rows.
func blockUnits(block extract.Block, id int) []unit {
	var units []unit
	switch block.Kind {
	case extract.Table:
		for i, row := range strings.Split(block.Text, "\n") {
			if row = strings.TrimSpace(row); row != "" {
				units = append(units, unit{text: row, kind: extract.Table, block: id, tableHeader: i == 0})
			}
		}
	default:
		for i, sentence := range sentences(block.Text) {
			if i == 0 && block.Kind == extract.ListItem {
				sentence = listItemPrefix + sentence
			}
			units = append(units, unit{text: sentence, kind: block.Kind, block: id})
		}
	}
	return units
}

// sentences splits text at the sentence boundaries of Unicode Standard
// Annex #29, which break after ". " before an uppercase letter but not
// inside "e.g. laptops" or "3.5".
func sentences(text string) []string {
	var out []string
	state := -1
	for text != "" {
		var sentence string
		sentence, text, state = uniseg.FirstSentenceInString(text, state)
		if s := strings.TrimSpace(sentence); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// splitToFit cuts text into pieces of at most maxTokens tokens, between
// words where it can and between characters inside a word that alone is
// longer than maxTokens.
func splitToFit(text string, counter TokenCounter, maxTokens int) []string {
	var pieces []string
	var current []string
	flush := func() {
		if len(current) > 0 {
			pieces = append(pieces, strings.Join(current, " "))
			current = nil
		}
	}

	for _, word := range strings.Fields(text) {
		if counter.CountTokens(word) > maxTokens {
			flush()
			pieces = append(pieces, cutWord(word, counter, maxTokens)...)
			continue
		}
		candidate := strings.Join(append(current, word), " ")
		if counter.CountTokens(candidate) > maxTokens {
			flush()
		}
		current = append(current, word)
	}
	flush()
	return pieces
}

// cutWord cuts word into the longest runs of characters that fit
// maxTokens. Each run has at least one character so that the loop ends.
// NOTE: a piece exceeds maxTokens only if the counter gives a single
// character more than maxTokens tokens.
func cutWord(word string, counter TokenCounter, maxTokens int) []string {
	var pieces []string
	runes := []rune(word)
	for len(runes) > 0 {
		// Binary search for the longest prefix that fits.
		low, high := 1, len(runes)
		for low < high {
			mid := (low + high + 1) / 2
			if counter.CountTokens(string(runes[:mid])) <= maxTokens {
				low = mid
			} else {
				high = mid - 1
			}
		}
		pieces = append(pieces, string(runes[:low]))
		runes = runes[low:]
	}
	return pieces
}
