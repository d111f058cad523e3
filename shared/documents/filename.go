package documents

import (
	"errors"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxFilenameBytes caps a stored file name; 255 bytes is the common file
// system limit, so a downloaded document keeps its name.
const MaxFilenameBytes = 255

// ErrInvalidFilename marks a file name with nothing usable left.
var ErrInvalidFilename = errors.New("the file name is empty or contains no usable characters")

// SanitizeFilename returns the base name of name without control
// characters or path separators, trimmed to MaxFilenameBytes on a character
// boundary with its extension kept. The result is safe as the last segment
// of a blob path.
func SanitizeFilename(name string) (string, error) {
	name = strings.ToValidUTF8(name, "")
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base(name)
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '/' || r == unicode.ReplacementChar {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(strings.Trim(name, ". "))
	if name == "" || name == "." || name == ".." {
		return "", ErrInvalidFilename
	}
	if len(name) <= MaxFilenameBytes {
		return name, nil
	}
	ext := path.Ext(name)
	if len(ext) > 16 {
		ext = ""
	}
	stem := name[:len(name)-len(ext)]
	limit := MaxFilenameBytes - len(ext)
	for len(stem) > limit {
		_, size := utf8.DecodeLastRuneInString(stem)
		stem = stem[:len(stem)-size]
	}
	return stem + ext, nil
}
