//go:build ignore

// Command generate writes the hostile upload fixtures of this folder. Run
// it from the repository root with
//
//	go run testdata/hostile/generate.go
//
// The output is deterministic (random bytes come from a fixed seed), so a
// rerun rewrites the committed files unchanged. manifest.json is written by
// hand: it states what each file must produce.
package main

import (
	"archive/zip"
	"bytes"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

const dir = "testdata/hostile"

func main() {
	plainPDF, err := os.ReadFile("testdata/extract/plain.pdf")
	if err != nil {
		log.Fatal(err)
	}
	docx, err := os.ReadFile("testdata/documents/expenses_policy.docx")
	if err != nil {
		log.Fatal(err)
	}

	files := map[string][]byte{
		"zero_bytes.pdf":       {},
		"truncated.pdf":        plainPDF[:len(plainPDF)/3],
		"truncated.docx":       docx[:len(docx)/2],
		"random_bytes.pdf":     randomBytes(8 << 10),
		"broken_xref.pdf":      breakCrossReference(plainPDF),
		"zip_bomb.docx":        zipBomb(),
		"external_entity.docx": externalEntityDOCX(),
		"deep_nesting.html":    deepHTML(20_000),
		"pages_10000.pdf":      manyPagesPDF(10_000),
		"program.exe":          append([]byte("MZ\x90\x00\x03\x00\x00\x00"), randomBytes(1024)...),
		// Distinct contents, so that no upload is taken for a duplicate.
		"path_separators.txt":    []byte("Travel requests need approval from a manager before booking.\n"),
		"control_characters.txt": []byte("Lost badges are reported to the security desk within a day.\n"),
		"long_name.txt":          []byte("Parking permits renew every January at the front office.\n"),
		"after_hostile.txt":      []byte("Visitors sign in at reception and wear a visitor badge.\n"),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

func randomBytes(n int) []byte {
	source := rand.New(rand.NewPCG(7, 7))
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(source.Uint32())
	}
	// Keep the first bytes off any signature the sniffers know.
	data[0] = 0
	return data
}

// breakCrossReference points every cross-reference entry and startxref at
// wrong offsets, as a file damaged in transfer would.
func breakCrossReference(pdf []byte) []byte {
	out := bytes.Clone(pdf)
	xref := bytes.LastIndex(out, []byte("\nxref\n"))
	if xref < 0 {
		log.Fatal("plain.pdf has no xref table")
	}
	tail := out[xref:]
	for i := range tail {
		if tail[i] >= '1' && tail[i] <= '9' && i > 12 {
			tail[i] = '9'
		}
	}
	return out
}

// zipBomb is a DOCX whose main part inflates 1000 times: 64 MiB from
// about 64 KiB.
func zipBomb() []byte {
	var buf bytes.Buffer
	archive := zip.NewWriter(&buf)
	writePart(archive, "[Content_Types].xml", contentTypes)
	part, err := archive.Create("word/document.xml")
	if err != nil {
		log.Fatal(err)
	}
	chunk := bytes.Repeat([]byte(" "), 1<<20)
	fmt.Fprint(part, `<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>`)
	for range 64 {
		part.Write(chunk)
	}
	fmt.Fprint(part, `</w:body></w:document>`)
	if err := archive.Close(); err != nil {
		log.Fatal(err)
	}
	return buf.Bytes()
}

// externalEntityDOCX declares external entities that name a local file
// and a URL; a parser that resolved them would leak the file or call out.
func externalEntityDOCX() []byte {
	var buf bytes.Buffer
	archive := zip.NewWriter(&buf)
	writePart(archive, "[Content_Types].xml", contentTypes)
	writePart(archive, "word/document.xml", `<?xml version="1.0"?>
<!DOCTYPE w:document [
  <!ENTITY secret SYSTEM "file:///etc/passwd">
  <!ENTITY remote SYSTEM "http://203.0.113.1/entity">
]>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>
<w:p><w:r><w:t>Quarterly badge audit procedure &secret; &remote;</w:t></w:r></w:p>
</w:body></w:document>`)
	if err := archive.Close(); err != nil {
		log.Fatal(err)
	}
	return buf.Bytes()
}

const contentTypes = `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`

func writePart(archive *zip.Writer, name, content string) {
	part, err := archive.Create(name)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := part.Write([]byte(content)); err != nil {
		log.Fatal(err)
	}
}

func deepHTML(depth int) []byte {
	return []byte("<!doctype html><html><body>" + strings.Repeat("<div>", depth) + "deep" + strings.Repeat("</div>", depth) + "</body></html>")
}

// manyPagesPDF writes a PDF whose page tree holds pages empty pages, each
// a small object, so the file stays well under 1 MB.
func manyPagesPDF(pages int) []byte {
	var out bytes.Buffer
	var offsets []int
	object := func(body string) {
		offsets = append(offsets, out.Len())
		fmt.Fprintf(&out, "%d 0 obj\n%s\nendobj\n", len(offsets), body)
	}
	out.WriteString("%PDF-1.7\n")
	object("<< /Type /Catalog /Pages 2 0 R >>")
	var kids strings.Builder
	for i := range pages {
		fmt.Fprintf(&kids, "%d 0 R ", i+3)
	}
	object(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d /MediaBox [0 0 612 792] >>", kids.String(), pages))
	for range pages {
		object("<< /Type /Page /Parent 2 0 R >>")
	}
	xref := out.Len()
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, offset := range offsets {
		fmt.Fprintf(&out, "%010d 00000 n \n", offset)
	}
	fmt.Fprintf(&out, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	return out.Bytes()
}
