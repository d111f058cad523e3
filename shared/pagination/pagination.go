// Package pagination encodes the opaque cursors of newest-first lists: a
// position is the last item's creation time and id, so the next page starts
// strictly after it even when several items share a timestamp.
package pagination

import (
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
)

// ErrInvalidCursor is returned for a cursor this package did not produce.
var ErrInvalidCursor = errors.New("the cursor is invalid")

// Cursor is a position in a list ordered by (CreatedAt, ID) descending.
type Cursor struct {
	CreatedAt time.Time
	ID        uuid.UUID
}

// Encode returns the opaque, URL-safe form of c.
func Encode(c Cursor) string {
	raw := c.CreatedAt.UTC().Format(time.RFC3339Nano) + "|" + c.ID.String()
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// Decode parses a cursor from Encode. An empty string means the first page
// and returns nil.
func Decode(cursor string) (*Cursor, error) {
	if cursor == "" {
		return nil, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, ErrInvalidCursor
	}
	createdAt, id, ok := strings.Cut(string(raw), "|")
	if !ok {
		return nil, ErrInvalidCursor
	}
	c := &Cursor{}
	if c.CreatedAt, err = time.Parse(time.RFC3339Nano, createdAt); err != nil {
		return nil, ErrInvalidCursor
	}
	if c.ID, err = uuid.Parse(id); err != nil {
		return nil, ErrInvalidCursor
	}
	return c, nil
}
