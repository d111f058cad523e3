package chat

import (
	"strings"
	"unicode"
)

// stopwords are English function words and question words that carry no
// topic, so matching them says nothing about whether a passage answers.
var stopwords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a about above after again against all am an and any are as at be because been
		before being below between both but by can could did do does doing down during each few for from further get
		gets got had has have having he her here hers herself him himself his how i if in into is it its itself just
		me more most my myself no nor not now of off on once only or other our ours ourselves out over own same she
		should so some such than that the their theirs them themselves then there these they this those through to
		too under until up very was we were what when where which while who whom why will with would you your yours
		yourself yourselves much many may might must shall also there's what's i'm i've let tell know please`) {
		stopwords[w] = true
	}
}

// terms returns the distinct content terms of text: lowercased words and
// numbers without stopwords, reduced by stem.
func terms(text string) map[string]bool {
	found := map[string]bool{}
	for _, word := range words(text) {
		if stopwords[word] {
			continue
		}
		found[stem(word)] = true
	}
	return found
}

// words splits text into lowercase runs of letters and digits. An
// apostrophe inside a word is dropped with what follows it, so "company's"
// and "weeks’" read as "company" and "weeks".
func words(text string) []string {
	var out []string
	var current strings.Builder
	skipping := false
	flush := func() {
		if current.Len() > 0 {
			out = append(out, current.String())
			current.Reset()
		}
		skipping = false
	}
	for _, r := range text {
		switch {
		case r == '\'' || r == '’':
			skipping = current.Len() > 0
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if !skipping {
				current.WriteRune(unicode.ToLower(r))
			}
		default:
			flush()
		}
	}
	flush()
	return out
}

// stem removes common English inflection suffixes so that "requests",
// "requesting" and "requested" match "request". It is a light suffix
// stripper, not a full Porter stemmer: it only has to make a question and a
// passage agree on the same word, both stemmed the same way.
func stem(word string) string {
	if len(word) <= 3 || !isLetters(word) {
		return word
	}
	for _, rule := range []struct{ suffix, replacement string }{
		{"ations", ""}, {"ation", ""}, {"ies", "y"}, {"sses", "ss"}, {"ings", ""}, {"ing", ""}, {"ed", ""}, {"ly", ""},
	} {
		if strings.HasSuffix(word, rule.suffix) && len(word)-len(rule.suffix) >= 3 {
			return undouble(word[:len(word)-len(rule.suffix)] + rule.replacement)
		}
	}
	if strings.HasSuffix(word, "s") && !strings.HasSuffix(word, "ss") && !strings.HasSuffix(word, "us") {
		return word[:len(word)-1]
	}
	return word
}

// undouble turns a doubled final consonant left by a removed suffix, as in
// "submitt" from "submitted", back into one.
func undouble(word string) string {
	n := len(word)
	if n >= 2 && word[n-1] == word[n-2] && !strings.ContainsRune("aeiouls", rune(word[n-1])) {
		return word[:n-1]
	}
	return word
}

func isLetters(word string) bool {
	for _, r := range word {
		if !unicode.IsLetter(r) {
			return false
		}
	}
	return true
}

// overlap returns the share of query's terms that appear in passage, from
// 0 to 1, and how many appear.
func overlap(query, passage map[string]bool) (share float64, matched int) {
	if len(query) == 0 {
		return 0, 0
	}
	for term := range query {
		if passage[term] {
			matched++
		}
	}
	return float64(matched) / float64(len(query)), matched
}
