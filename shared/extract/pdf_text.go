package extract

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// softHyphenRemover deletes the marks PDFium puts where a word was
// hyphenated at a line end: U+FFFE from FPDFText_GetText and U+0002 from
// FPDFText_GetUnicode. PDFium already drops the line break after them.
var softHyphenRemover = strings.NewReplacer("\uFFFE", "", "\x02", "")

// ligatureReplacer spells out the Latin ligatures some fonts map text to,
// so that "ﬁnal" is found by a search for "final".
var ligatureReplacer = strings.NewReplacer(
	"\uFB00", "ff", "\uFB01", "fi", "\uFB02", "fl", "\uFB03", "ffi",
	"\uFB04", "ffl", "\uFB05", "st", "\uFB06", "st",
)

// pdfBullets are the characters that start a list item in PDF text. The
// U+F0xx code points are Symbol and Wingdings bullets that some producers
// leave unmapped.
const pdfBullets = "•◦▪▫●○■□►‣⁃∙·–—-*\uF0B7\uF0A7\uF0D8"

// fullLineRatio is the share of the page's longest line that a line must
// reach to count as wrapped by the layout, so that the next line continues
// its paragraph.
const fullLineRatio = 0.75

// pdfPageBlocks rebuilds paragraphs and list items from the text of one PDF
// page. PDF text has no paragraph marks, only line breaks. Some producers,
// such as Microsoft Word, end every word-wrapped line with a space, and on
// such a page a paragraph continues exactly past those lines. On other
// pages a paragraph continues past a line nearly as long as the page's
// longest line. Headings cannot be distinguished from short paragraphs
// reliably, so none are produced.
func pdfPageBlocks(pageText string) []Block {
	pageText = softHyphenRemover.Replace(pageText)
	pageText = ligatureReplacer.Replace(pageText)
	pageText = composeSpacingAccents(pageText)
	lines := strings.FieldsFunc(pageText, func(r rune) bool { return r == '\n' || r == '\r' })

	longest := 0
	spaceMarksWrap := false
	for _, line := range lines {
		longest = max(longest, utf8.RuneCountInString(strings.TrimSpace(line)))
		if strings.HasSuffix(line, " ") && strings.TrimSpace(line) != "" {
			spaceMarksWrap = true
		}
	}

	var (
		blocks []Block
		parts  []string
		kind   = Paragraph
	)
	flush := func() {
		if t := normalizeSpace(strings.Join(parts, "")); t != "" {
			blocks = append(blocks, Block{Kind: kind, Text: t})
		}
		parts = parts[:0]
		kind = Paragraph
	}

	for _, raw := range lines {
		line := normalizeSpace(raw)
		if line == "" {
			flush()
			continue
		}

		if item, ok := cutBullet(line); ok {
			flush()
			kind = ListItem
			line = item
		}
		parts = appendLine(parts, line)

		wrapped := strings.HasSuffix(raw, " ")
		if !spaceMarksWrap {
			long := float64(utf8.RuneCountInString(line)) >= fullLineRatio*float64(longest)
			wrapped = long && !strings.HasSuffix(line, ":")
		}
		if !wrapped {
			flush()
		}
	}
	flush()
	return blocks
}

// cutBullet returns line without its leading bullet and reports whether it
// had one. A bullet must be followed by a space, so "-5 degrees" and
// "*args" stay text.
func cutBullet(line string) (string, bool) {
	first, size := utf8.DecodeRuneInString(line)
	if !strings.ContainsRune(pdfBullets, first) {
		return line, false
	}
	rest := line[size:]
	if rest == "" || !unicode.IsSpace(rune(rest[0])) {
		return line, false
	}
	return strings.TrimSpace(rest), true
}

// appendLine adds line to a paragraph's parts. A line break between a
// hyphen and a lowercase letter joins the halves without a space, because
// it usually splits a compound such as "well-being". Every other line
// break becomes a space.
func appendLine(parts []string, line string) []string {
	if len(parts) == 0 {
		return append(parts, line)
	}
	previous := parts[len(parts)-1]
	next, _ := utf8.DecodeRuneInString(line)
	if strings.HasSuffix(previous, "-") && len(previous) > 1 && unicode.IsLower(next) {
		return append(parts, line)
	}
	return append(parts, " ", line)
}

// spacingToCombining maps the non-ASCII spacing accents that TeX fonts
// draw as separate glyphs before a letter to their combining forms.
var spacingToCombining = map[rune]rune{
	'\u00A8': '\u0308', // diaeresis
	'\u00B4': '\u0301', // acute
	'\u02C6': '\u0302', // circumflex
	'\u02DC': '\u0303', // tilde
	'\u02C7': '\u030C', // caron
	'\u02D8': '\u0306', // breve
	'\u00B8': '\u0327', // cedilla
	'\u02DA': '\u030A', // ring above
	'\u02DD': '\u030B', // double acute
	'\u00AF': '\u0304', // macron
	'\u02D9': '\u0307', // dot above
}

// composeSpacingAccents turns a spacing accent followed by a letter, as in
// "Br¨oker" from pdfTeX output, into the accented letter ("Bröker").
func composeSpacingAccents(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { _, ok := spacingToCombining[r]; return ok }) {
		return s
	}

	runes := []rune(s)
	out := make([]rune, 0, len(runes))
	for i := 0; i < len(runes); i++ {
		combining, ok := spacingToCombining[runes[i]]
		if ok && i+1 < len(runes) && unicode.IsLetter(runes[i+1]) {
			out = append(out, runes[i+1], combining)
			i++
			continue
		}
		out = append(out, runes[i])
	}
	return norm.NFC.String(string(out))
}
