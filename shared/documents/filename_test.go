package documents

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSanitizeFilename(t *testing.T) {
	cases := []struct {
		in   string
		want string
	}{
		{"handbook.pdf", "handbook.pdf"},
		{"../../etc/passwd", "passwd"},
		{`C:\Users\ada\policy.docx`, "policy.docx"},
		{"bad\x00name\r\n.txt", "badname.txt"},
		{"  spaced .md ", "spaced .md"},
		{"Überblick – Richtlinie.pdf", "Überblick – Richtlinie.pdf"},
	}
	for _, c := range cases {
		got, err := SanitizeFilename(c.in)
		if err != nil {
			t.Errorf("SanitizeFilename(%q): %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("SanitizeFilename(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSanitizeFilenameRejectsEmpty(t *testing.T) {
	for _, in := range []string{"", "..", "/", "\x01\x02", " . "} {
		if _, err := SanitizeFilename(in); !errors.Is(err, ErrInvalidFilename) {
			t.Errorf("SanitizeFilename(%q): err = %v, want ErrInvalidFilename", in, err)
		}
	}
}

func TestSanitizeFilenameTruncatesKeepingExtension(t *testing.T) {
	long := strings.Repeat("é", 300) + ".pdf"
	got, err := SanitizeFilename(long)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) > MaxFilenameBytes {
		t.Errorf("len = %d, want at most %d", len(got), MaxFilenameBytes)
	}
	if !strings.HasSuffix(got, ".pdf") || !utf8.ValidString(got) {
		t.Errorf("got %q, want valid UTF-8 ending in .pdf", got)
	}
}

func TestDetectContentType(t *testing.T) {
	cases := []struct {
		name string
		head string
		want string
	}{
		{"a.pdf", "%PDF-1.7\n", "application/pdf"},
		{"renamed.txt", "%PDF-1.4\n", "application/pdf"},
		{"a.docx", "PK\x03\x04rest", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{"notes.md", "# Title\n", "text/markdown; charset=utf-8"},
		{"page.html", "<html><body>x</body></html>", "text/html; charset=utf-8"},
		{"README", "plain words", "text/plain; charset=utf-8"},
		{"page.xyz", "<!DOCTYPE html><html>", "text/html; charset=utf-8"},
	}
	for _, c := range cases {
		got, err := detectContentType(c.name, []byte(c.head))
		if err != nil || got != c.want {
			t.Errorf("detectContentType(%q) = %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}

func TestDetectContentTypeRejects(t *testing.T) {
	cases := []struct{ name, head string }{
		{"archive.zip", "PK\x03\x04"},
		{"fake.pdf", "\x00\x01binary"},
		{"image.png", "\x89PNG\r\n\x1a\n"},
		{"data.csv", "a,b,c"},
	}
	for _, c := range cases {
		if _, err := detectContentType(c.name, []byte(c.head)); !errors.Is(err, ErrUnsupportedType) {
			t.Errorf("detectContentType(%q): err = %v, want ErrUnsupportedType", c.name, err)
		}
	}
}
