package pagination

import (
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestCursorRoundTrip(t *testing.T) {
	want := Cursor{CreatedAt: time.Date(2026, 12, 4, 10, 0, 0, 123456789, time.UTC), ID: uuid.New()}
	got, err := Decode(Encode(want))
	if err != nil {
		t.Fatal(err)
	}
	if !got.CreatedAt.Equal(want.CreatedAt) || got.ID != want.ID {
		t.Errorf("Decode(Encode(c)) = %+v, want %+v", got, want)
	}
}

func TestDecodeEmptyIsFirstPage(t *testing.T) {
	got, err := Decode("")
	if err != nil || got != nil {
		t.Errorf("Decode(\"\") = %v, %v; want nil, nil", got, err)
	}
}

func TestDecodeRejectsForeignCursors(t *testing.T) {
	for _, cursor := range []string{
		"%%%",
		base64.RawURLEncoding.EncodeToString([]byte("no separator")),
		base64.RawURLEncoding.EncodeToString([]byte("yesterday|" + uuid.NewString())),
		base64.RawURLEncoding.EncodeToString([]byte("2026-12-04T10:00:00Z|not-a-uuid")),
	} {
		if _, err := Decode(cursor); !errors.Is(err, ErrInvalidCursor) {
			t.Errorf("Decode(%q): err = %v, want ErrInvalidCursor", cursor, err)
		}
	}
}
