package extract

import "errors"

// Reasons an extraction fails that the platform reports to the uploader.
// Callers test for them with errors.Is; every error Extract returns for a
// bad file is an *Error whose Reason is one of these.
var (
	// ErrNoText means the file parsed but holds no text, for example a
	// scanned PDF. Placeholder text is never produced in its place.
	ErrNoText = errors.New("the document has no extractable text; it may be scanned or image-only")
	// ErrEncrypted means the file needs a password or is rights-protected.
	ErrEncrypted = errors.New("the document is encrypted or rights-protected")
	// ErrUnsupportedFormat means the content matches none of the formats
	// this package reads.
	ErrUnsupportedFormat = errors.New("the file type is not supported; upload a PDF, DOCX, Markdown, HTML or plain text file")
	// ErrCorrupt means the file claims a supported format but cannot be read.
	ErrCorrupt = errors.New("the file is damaged or is not a valid PDF, DOCX, HTML or UTF-8 text file")
	// ErrTooLarge means the file exceeds a Config limit: size, pages, zip
	// entries, compression ratio, nesting depth or extraction time.
	ErrTooLarge = errors.New("the document exceeds the size or complexity limits for extraction")
)

// Error is an extraction failure caused by the file itself.
type Error struct {
	// Reason is one of the Err sentinels. Its message is safe to show to
	// the uploader.
	Reason error
	// Err is the underlying cause for logs, such as a parser error. It may
	// name limits and offsets but never contains document text.
	Err error
}

// Error returns the reason followed by the cause.
func (e *Error) Error() string {
	if e.Err == nil {
		return e.Reason.Error()
	}
	return e.Reason.Error() + ": " + e.Err.Error()
}

// Unwrap returns the reason and the cause, so errors.Is matches either.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Reason}
	}
	return []error{e.Reason, e.Err}
}

// fail builds an *Error with the given reason and cause.
func fail(reason, cause error) *Error {
	return &Error{Reason: reason, Err: cause}
}
