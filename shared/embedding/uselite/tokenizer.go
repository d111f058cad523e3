package uselite

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf16"

	"golang.org/x/text/unicode/norm"
)

// Token ids below reservedTokens are the unknown piece, <s>, </s> and three
// spare ids. Only the unknown id (0) appears in output, for characters no
// piece covers.
const (
	unknownTokenID = 0
	reservedTokens = 6
)

// wordSeparator is U+2581 (LOWER ONE EIGHTH BLOCK), which SentencePiece
// writes in place of a space.
const wordSeparator = "\u2581"

// piece is one SentencePiece vocabulary entry.
type piece struct {
	id    int
	score float64
}

// Tokenizer splits text into the SentencePiece ids that USE-lite reads. It
// ports the Tokenizer of @tensorflow-models/universal-sentence-encoder@1.3.3
// and reproduces its ids exactly, quirks included. A Tokenizer is immutable
// and safe for concurrent use.
type Tokenizer struct {
	// pieces maps a piece, encoded as UTF-16 code units of two bytes each, to
	// its entry. The reference walks JavaScript strings by UTF-16 code unit,
	// so an emoji is two units, each of which is unknown on its own.
	pieces map[string]piece
	// lengths holds the length of every vocabulary entry in UTF-16 code
	// units, indexed by id.
	lengths []int
	// maxPieceUnits is the length of the longest piece in UTF-16 code units.
	maxPieceUnits int
}

// LoadTokenizer reads the vocabulary from dir/vocab.json, a JSON array of
// [piece, score] pairs indexed by token id.
func LoadTokenizer(dir string) (*Tokenizer, error) {
	path := filepath.Join(dir, "vocab.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read vocabulary %s: %w", path, err)
	}
	var entries [][2]json.RawMessage
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, fmt.Errorf("parse vocabulary %s: %w", path, err)
	}
	if len(entries) <= reservedTokens {
		return nil, fmt.Errorf("parse vocabulary %s: %d entries, expected more than %d", path, len(entries), reservedTokens)
	}

	t := &Tokenizer{
		pieces:  make(map[string]piece, len(entries)),
		lengths: make([]int, len(entries)),
	}
	for id, entry := range entries {
		var text string
		if err := json.Unmarshal(entry[0], &text); err != nil {
			return nil, fmt.Errorf("parse vocabulary %s: entry %d: %w", path, id, err)
		}
		// Seven pieces such as ":" and "://" have a null score. JavaScript
		// adds null as 0, so they score 0 here as well.
		var score *float64
		if err := json.Unmarshal(entry[1], &score); err != nil {
			return nil, fmt.Errorf("parse vocabulary %s: entry %d score: %w", path, id, err)
		}

		units := utf16.Encode([]rune(text))
		t.lengths[id] = len(units)
		if id < reservedTokens || len(units) == 0 {
			continue
		}
		p := piece{id: id}
		if score != nil {
			p.score = *score
		}
		// A later duplicate replaces an earlier one, as in the reference trie.
		t.pieces[unitKey(units)] = p
		t.maxPieceUnits = max(t.maxPieceUnits, len(units))
	}
	return t, nil
}

// Tokenize returns the token ids of text, without the clip to
// MaxInputTokens that the encoder applies. The text is NFKC-normalised, and
// a non-empty text gets a leading word separator, with every ASCII space
// replaced by one. Runs of unknown characters collapse into one unknown id.
func (t *Tokenizer) Tokenize(text string) []int {
	normalized := norm.NFKC.String(text)
	if normalized == "" {
		return []int{}
	}
	normalized = wordSeparator + strings.ReplaceAll(normalized, " ", wordSeparator)
	units := utf16.Encode([]rune(normalized))
	key := []byte(unitKey(units))
	n := len(units)

	// A start position with no vocabulary piece gets a one-unit unknown
	// piece of score 0, as in the reference's commonPrefixSearch.
	covered := make([]bool, n)
	for start := range n {
		for length := 1; length <= t.maxPieceUnits && start+length <= n; length++ {
			if _, ok := t.pieces[string(key[2*start:2*(start+length)])]; ok {
				covered[start] = true
				break
			}
		}
	}

	// Viterbi over the lattice, visiting candidate pieces in the reference's
	// order: by end position, then by ascending start. The reference keeps a
	// candidate when the best score so far is exactly 0 (its "unset" value)
	// or when the candidate scores at least as well, so ties go to the
	// shorter, later-visited piece.
	best := make([]float64, n+1)
	words := make([]int, n+1)
	for end := 1; end <= n; end++ {
		for start := max(0, end-t.maxPieceUnits); start < end; start++ {
			var p piece
			if !covered[start] {
				if end != start+1 {
					continue
				}
				p = piece{id: unknownTokenID}
			} else {
				var ok bool
				p, ok = t.pieces[string(key[2*start:2*end])]
				if !ok {
					continue
				}
			}
			score := p.score + best[start]
			if best[end] == 0 || score >= best[end] {
				best[end] = score
				words[end] = p.id
			}
		}
	}

	// Walk back from the end. The step is the length of the chosen entry in
	// the vocabulary, which for the unknown id "\uFFFD" is one unit.
	var reversed []int
	for pos := n; pos > 0; pos -= t.lengths[words[pos]] {
		reversed = append(reversed, words[pos])
	}

	ids := make([]int, 0, len(reversed))
	for i := len(reversed) - 1; i >= 0; i-- {
		id := reversed[i]
		if id == unknownTokenID && len(ids) > 0 && ids[len(ids)-1] == unknownTokenID {
			continue
		}
		ids = append(ids, id)
	}
	return ids
}

// CountTokens returns len(Tokenize(text)).
func (t *Tokenizer) CountTokens(text string) int {
	return len(t.Tokenize(text))
}

// VocabularySize returns the number of entries in the vocabulary.
func (t *Tokenizer) VocabularySize() int {
	return len(t.lengths)
}

// unitKey encodes UTF-16 code units as a string of two bytes per unit, so
// that lone surrogate halves stay distinct map keys.
func unitKey(units []uint16) string {
	b := make([]byte, 2*len(units))
	for i, u := range units {
		b[2*i] = byte(u >> 8)
		b[2*i+1] = byte(u)
	}
	return string(b)
}
