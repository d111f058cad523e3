package extract

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// errPartTooLarge is returned by a zipBudget reader once a part yields more
// bytes than its share of the budget.
var errPartTooLarge = errors.New("zip part exceeds the uncompressed size limit")

// ratioFloor is the part size, in bytes, below which the compression ratio
// is not checked: a tiny part full of repeated markup may compress far
// better than MaxCompressionRatio and still be harmless.
const ratioFloor = 1 << 20

// zipBudget opens the parts of one archive and stops reading once the
// bytes read from all of them reach the total limit, or one part reads more
// than its compressed size times the maximum ratio. The sizes in the zip
// headers are never trusted: both limits count the bytes actually read.
type zipBudget struct {
	archive   *zip.Reader
	remaining int64
	maxRatio  int64
}

// openZip checks the entry count and returns a budget for reading parts.
func openZip(data []byte, cfg Config) (*zipBudget, error) {
	archive, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fail(ErrCorrupt, fmt.Errorf("open docx zip: %w", err))
	}
	if len(archive.File) > cfg.MaxZipEntries {
		return nil, fail(ErrTooLarge, fmt.Errorf("docx has %d zip entries, limit is %d", len(archive.File), cfg.MaxZipEntries))
	}
	return &zipBudget{archive: archive, remaining: cfg.MaxUncompressedBytes, maxRatio: int64(cfg.MaxCompressionRatio)}, nil
}

// find returns the entry named name, or nil.
func (z *zipBudget) find(name string) *zip.File {
	for _, file := range z.archive.File {
		if file.Name == name {
			return file
		}
	}
	return nil
}

// open returns a reader over file's uncompressed bytes that fails with
// errPartTooLarge past the limits. The caller closes it.
func (z *zipBudget) open(file *zip.File) (io.ReadCloser, error) {
	if file.UncompressedSize64 > uint64(z.remaining) {
		return nil, fail(ErrTooLarge, fmt.Errorf("docx part %s declares %d bytes, %d left in the limit", file.Name, file.UncompressedSize64, z.remaining))
	}

	allowed := max(int64(file.CompressedSize64)*z.maxRatio, ratioFloor)
	allowed = min(allowed, z.remaining)

	rc, err := file.Open()
	if err != nil {
		return nil, fail(ErrCorrupt, fmt.Errorf("open docx part %s: %w", file.Name, err))
	}
	return &budgetReader{budget: z, allowed: allowed, source: rc}, nil
}

// budgetReader counts the bytes of one part against its budget.
type budgetReader struct {
	budget  *zipBudget
	allowed int64
	source  io.ReadCloser
}

func (r *budgetReader) Read(p []byte) (int, error) {
	if r.allowed <= 0 {
		// Probe for one more byte: a part that ends exactly at the limit
		// is fine.
		var probe [1]byte
		n, err := r.source.Read(probe[:])
		if n > 0 {
			return 0, errPartTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > r.allowed {
		p = p[:r.allowed]
	}
	n, err := r.source.Read(p)
	r.allowed -= int64(n)
	r.budget.remaining -= int64(n)
	return n, err
}

func (r *budgetReader) Close() error {
	return r.source.Close()
}
