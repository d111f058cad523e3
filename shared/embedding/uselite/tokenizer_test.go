package uselite

import (
	"slices"
	"testing"
)

func TestTokenizeEdgeCases(t *testing.T) {
	tokenizer, err := LoadTokenizer(modelDir(t))
	if err != nil {
		t.Fatalf("LoadTokenizer: %v", err)
	}

	t.Run("empty text has no tokens", func(t *testing.T) {
		if got := tokenizer.Tokenize(""); len(got) != 0 {
			t.Errorf("Tokenize(\"\") = %v, expected no tokens", got)
		}
	})

	t.Run("unknown characters collapse", func(t *testing.T) {
		// Each emoji is two UTF-16 units that no piece covers, so the run of
		// four unknown units becomes one unknown id.
		got := tokenizer.Tokenize("🎉🚀")
		unknown := 0
		for _, id := range got {
			if id == unknownTokenID {
				unknown++
			}
		}
		if unknown != 1 {
			t.Errorf("Tokenize(two emoji) = %v, expected exactly one unknown id", got)
		}
	})

	t.Run("NFKC folds ligatures", func(t *testing.T) {
		ligature := tokenizer.Tokenize("ﬁnance")
		plain := tokenizer.Tokenize("finance")
		if !slices.Equal(ligature, plain) {
			t.Errorf("Tokenize(ligature) = %v, Tokenize(plain) = %v, expected equal", ligature, plain)
		}
	})

	t.Run("ids within vocabulary", func(t *testing.T) {
		for _, id := range tokenizer.Tokenize("Expenses over $25.00 need receipts :) 東京 ☃") {
			if id < 0 || id >= tokenizer.VocabularySize() {
				t.Errorf("id %d outside the vocabulary of %d entries", id, tokenizer.VocabularySize())
			}
		}
	})
}
