package extract

import (
	"archive/zip"
	"encoding/xml"
	"io"
	"strings"
)

// contentTypesPart lists the media type of every part of an OOXML package
// (ECMA-376 Part 2, 10.1.2).
const contentTypesPart = "[Content_Types].xml"

// maxContentTypesBytes bounds the read of [Content_Types].xml, which lists
// one line per part and stays far below this in real files.
const maxContentTypesBytes = 1 << 20

// docxMainContentTypes are the media types of the main part of a Word
// document, macro-enabled document and template.
var docxMainContentTypes = map[string]bool{
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": true,
	"application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml": true,
	"application/vnd.ms-word.document.macroEnabled.main+xml":                           true,
	"application/vnd.ms-word.template.macroEnabledTemplate.main+xml":                   true,
}

// findDOCXMainPart returns the name of the main document part of a Word
// package. Word names it word/document.xml, but other writers may use
// another name, which [Content_Types].xml then declares.
func findDOCXMainPart(archive *zip.Reader) (string, bool) {
	for _, file := range archive.File {
		if file.Name == docxMainPart {
			return docxMainPart, true
		}
	}

	var types *zip.File
	for _, file := range archive.File {
		if file.Name == contentTypesPart {
			types = file
		}
	}
	if types == nil {
		return "", false
	}
	rc, err := types.Open()
	if err != nil {
		return "", false
	}
	defer rc.Close()

	var declared struct {
		Overrides []struct {
			PartName    string `xml:"PartName,attr"`
			ContentType string `xml:"ContentType,attr"`
		} `xml:"Override"`
	}
	if err := xml.NewDecoder(io.LimitReader(rc, maxContentTypesBytes)).Decode(&declared); err != nil {
		return "", false
	}
	for _, override := range declared.Overrides {
		if !docxMainContentTypes[override.ContentType] {
			continue
		}
		name := strings.TrimPrefix(override.PartName, "/")
		for _, file := range archive.File {
			if file.Name == name {
				return name, true
			}
		}
	}
	return "", false
}
