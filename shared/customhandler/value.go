package customhandler

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The host serialises binding values with Json.NET before it puts them in
// the envelope. A string "abc" therefore arrives as the JSON string "\"abc\"",
// an int 5 as "5", a DateTime as an ISO string and byte[] as base64. These
// helpers undo that, accepting the single-encoded forms too because other
// host versions and Core Tools send them.

// decodeValue unmarshals raw into v. Scalars (string, integers, bool, time)
// are read from their text whether they arrive single- or double-encoded;
// structured values whose JSON arrives inside a string are unmarshalled from
// that string's content.
func decodeValue(raw json.RawMessage, v any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return fmt.Errorf("empty value")
	}
	switch target := v.(type) {
	case *string:
		s, err := scalarText(raw)
		*target = s
		return err
	case *int:
		n, err := scalarInt(raw, strconv.IntSize)
		*target = int(n)
		return err
	case *int64:
		n, err := scalarInt(raw, 64)
		*target = n
		return err
	case *bool:
		s, err := scalarText(raw)
		if err != nil {
			return err
		}
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("invalid boolean %q", s)
		}
		*target = b
		return nil
	case *time.Time:
		s, err := scalarText(raw)
		if err != nil {
			return err
		}
		t, err := ParseHostTime(s)
		*target = t
		return err
	}
	if raw[0] == '"' {
		var inner string
		if err := json.Unmarshal(raw, &inner); err != nil {
			return err
		}
		return json.Unmarshal([]byte(inner), v)
	}
	return json.Unmarshal(raw, v)
}

// scalarText returns the text of a scalar value: a JSON literal as written,
// or a string with one or two levels of JSON string encoding removed.
func scalarText(raw json.RawMessage) (string, error) {
	if raw[0] != '"' {
		return string(raw), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", err
	}
	if len(s) >= 2 && s[0] == '"' {
		var inner string
		if json.Unmarshal([]byte(s), &inner) == nil {
			return inner, nil
		}
	}
	return s, nil
}

func scalarInt(raw json.RawMessage, bits int) (int64, error) {
	s, err := scalarText(raw)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, bits)
	if err != nil {
		return 0, fmt.Errorf("invalid integer %q", s)
	}
	return n, nil
}

// decodeBytes returns the bytes of a binding value. Binary values arrive as
// base64; a value that is a JSON object or array, or a string whose content
// is one, is returned as that JSON text.
func decodeBytes(raw json.RawMessage) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || isNull(raw) {
		return nil, nil
	}
	if raw[0] != '"' {
		// An object or array the host passed through as JSON.
		return []byte(raw), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	// A double-encoded string: its content is a JSON string literal.
	if inner := strings.TrimSpace(s); strings.HasPrefix(inner, `"`) {
		var unwrapped string
		if json.Unmarshal([]byte(inner), &unwrapped) == nil {
			s = unwrapped
		}
	}
	if t := strings.TrimSpace(s); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
		if json.Valid([]byte(t)) {
			return []byte(t), nil
		}
	}
	decoded, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("value is neither JSON nor base64: %w", err)
	}
	return decoded, nil
}

func isNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// hostTimeLayouts are the timestamp forms the host sends: RFC 3339 with an
// offset, and the *Utc properties of the Service Bus extension, which
// Json.NET writes without a zone and often without fractional seconds.
var hostTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.9999999",
	"2006-01-02T15:04:05",
	"01/02/2006 15:04:05",
}

// ParseHostTime parses a timestamp from the host. A timestamp without a zone
// is UTC, because the host only omits the zone on UTC values.
func ParseHostTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range hostTimeLayouts {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid host timestamp %q", s)
}
