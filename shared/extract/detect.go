package extract

import (
	"archive/zip"
	"bytes"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
)

var (
	// pdfMagic starts every PDF. PDF readers also accept it anywhere in the
	// first kilobyte, after junk that some generators write first.
	pdfMagic = []byte("%PDF-")
	// zipMagic starts a zip archive's first local file header.
	zipMagic = []byte("PK\x03\x04")
	// cfbMagic starts an OLE compound file: a legacy .doc, or an OOXML file
	// that Office encrypted with a password or rights management.
	cfbMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
	// encryptedPackageName is the stream name, in UTF-16LE, that holds the
	// encrypted OOXML package inside such a compound file (MS-OFFCRYPTO 2.3.4).
	encryptedPackageName = []byte("E\x00n\x00c\x00r\x00y\x00p\x00t\x00e\x00d\x00P\x00a\x00c\x00k\x00a\x00g\x00e\x00")
)

// pdfMagicWindow is how far into the file the PDF header may start.
const pdfMagicWindow = 1024

// textExtensions are the extensions of the text formats, the only ones
// that select a format.
var textExtensions = map[string]bool{
	".md": true, ".markdown": true, ".html": true, ".htm": true, ".txt": true, ".text": true,
}

// detectFormat returns the format of data. PDF and DOCX are recognized by
// content only. The extension selects Markdown, HTML or plain text, and a
// .pdf or .docx name on other content gives ErrCorrupt.
func detectFormat(filename string, data []byte) (string, error) {
	ext := strings.ToLower(filepath.Ext(filename))

	// A text file may quote the PDF header, so only a file whose name
	// claims no text format gets the header searched past offset 0.
	if bytes.HasPrefix(data, pdfMagic) {
		return FormatPDF, nil
	}
	if !textExtensions[ext] && bytes.Contains(data[:min(len(data), pdfMagicWindow)], pdfMagic) {
		return FormatPDF, nil
	}
	if bytes.HasPrefix(data, zipMagic) {
		return detectZipFormat(data, ext)
	}
	if bytes.HasPrefix(data, cfbMagic) {
		if bytes.Contains(data, encryptedPackageName) {
			return "", fail(ErrEncrypted, fmt.Errorf("%s is an encrypted office package", ext))
		}
		return "", fail(ErrUnsupportedFormat, fmt.Errorf("legacy office compound file (%s); save it as DOCX", ext))
	}

	switch ext {
	case ".pdf", ".docx":
		return "", fail(ErrCorrupt, fmt.Errorf("content of %s file has no %s signature", ext, strings.TrimPrefix(ext, ".")))
	case ".md", ".markdown":
		return FormatMarkdown, nil
	case ".html", ".htm":
		return FormatHTML, nil
	}

	// http.DetectContentType implements the WHATWG MIME sniffing rules,
	// which know the tags an HTML file starts with.
	if strings.HasPrefix(http.DetectContentType(data), "text/html") {
		return FormatHTML, nil
	}
	if ext == ".txt" || ext == ".text" {
		return FormatText, nil
	}
	return "", fail(ErrUnsupportedFormat, fmt.Errorf("unrecognized content with extension %q", ext))
}

// detectZipFormat separates a DOCX from other zip archives by its main
// document part.
func detectZipFormat(data []byte, ext string) (string, error) {
	archive, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return "", fail(ErrCorrupt, fmt.Errorf("open zip archive: %w", err))
	}
	if _, ok := findDOCXMainPart(archive); ok {
		return FormatDOCX, nil
	}
	if ext == ".docx" {
		return "", fail(ErrCorrupt, fmt.Errorf("zip archive has no Word main document part"))
	}
	return "", fail(ErrUnsupportedFormat, fmt.Errorf("zip archive is not a DOCX (extension %q)", ext))
}
