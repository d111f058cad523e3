package documents

import (
	"bytes"
	"errors"
	"path"
	"strings"
	"unicode/utf8"
)

// ErrUnsupportedType marks an upload whose content is none of the formats
// the platform reads.
var ErrUnsupportedType = errors.New("the file type is not supported; upload a PDF, DOCX, Markdown, HTML or plain text file")

// sniffLength is how much of the file the upload check reads.
const sniffLength = 4096

// detectContentType returns the media type of an upload from its first
// bytes, with the extension only telling text formats apart. It is a quick
// check at upload; extraction validates the whole file later and fails the
// document with a reason when the content is damaged.
func detectContentType(filename string, head []byte) (string, error) {
	ext := strings.ToLower(path.Ext(filename))
	switch {
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return "application/pdf", nil
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		if ext == ".docx" {
			return "application/vnd.openxmlformats-officedocument.wordprocessingml.document", nil
		}
		return "", ErrUnsupportedType
	}
	if !looksLikeText(head) {
		return "", ErrUnsupportedType
	}
	switch ext {
	case ".md", ".markdown":
		return "text/markdown; charset=utf-8", nil
	case ".html", ".htm":
		return "text/html; charset=utf-8", nil
	case ".txt", ".text", "":
		return "text/plain; charset=utf-8", nil
	}
	lower := bytes.ToLower(head)
	if bytes.Contains(lower, []byte("<!doctype html")) || bytes.Contains(lower, []byte("<html")) {
		return "text/html; charset=utf-8", nil
	}
	return "", ErrUnsupportedType
}

// looksLikeText reports whether head is UTF-8 without NUL bytes. A
// multi-byte character cut at the end of head is allowed.
func looksLikeText(head []byte) bool {
	if bytes.IndexByte(head, 0) >= 0 {
		return false
	}
	for i := 0; i < utf8.UTFMax && len(head) > 0 && !utf8.Valid(head); i++ {
		head = head[:len(head)-1]
	}
	return utf8.Valid(head)
}
