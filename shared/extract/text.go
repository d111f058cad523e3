package extract

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"unicode/utf8"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// blankLine splits plain text into paragraphs.
var blankLine = regexp.MustCompile(`\n[ \t\f\v]*\n`)

// readText splits plain text into paragraphs at blank lines.
func readText(data []byte) (*Document, error) {
	source, err := decodeText(data)
	if err != nil {
		return nil, err
	}

	var blocks []Block
	for _, part := range blankLine.Split(string(source), -1) {
		if t := normalizeSpace(part); t != "" {
			blocks = append(blocks, Block{Kind: Paragraph, Text: t})
		}
	}
	return &Document{Format: FormatText, Pages: []Page{{Number: 0, Blocks: blocks}}}, nil
}

// decodeText returns data as UTF-8 with a byte order mark removed and line
// endings normalized to \n. UTF-16 with a byte order mark is converted.
// Anything else must be valid UTF-8 without NUL bytes, because a NUL byte
// marks a binary file renamed to .txt or .md.
func decodeText(data []byte) ([]byte, error) {
	// BOMOverride switches to UTF-16 on a UTF-16 BOM and strips a UTF-8 BOM;
	// without a BOM the bytes pass through unchanged.
	decoder := unicode.BOMOverride(transform.Nop)
	decoded, _, err := transform.Bytes(decoder, data)
	if err != nil {
		return nil, fail(ErrCorrupt, fmt.Errorf("decode text: %w", err))
	}

	if !utf8.Valid(decoded) {
		return nil, fail(ErrCorrupt, errors.New("invalid text: not UTF-8 and no UTF-16 byte order mark"))
	}
	if i := bytes.IndexByte(decoded, 0); i >= 0 {
		return nil, fail(ErrCorrupt, fmt.Errorf("invalid text: NUL byte at offset %d, so the file is binary", i))
	}

	decoded = bytes.ReplaceAll(decoded, []byte("\r\n"), []byte("\n"))
	decoded = bytes.ReplaceAll(decoded, []byte("\r"), []byte("\n"))
	return decoded, nil
}
