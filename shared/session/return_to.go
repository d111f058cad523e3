package session

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// maxReturnToLength bounds return_to so that it fits the login cookie.
const maxReturnToLength = 1024

// ErrInvalidReturnTo means return_to is not a same-site relative path.
var ErrInvalidReturnTo = errors.New("invalid return_to")

// ValidateReturnTo checks that value is a path on this site that a browser
// cannot read as another origin, and returns it unchanged. It accepts only
// values that start with a single "/" followed by no "/" or "\", contain no
// backslash, whitespace or control character, and have no scheme or host.
// Browsers treat "\" like "/" and drop tabs and newlines from URLs, so
// "/\evil.com" and "/\t/evil.com" would leave the site. The same checks run
// on the percent-decoded forms, up to three levels deep, so that a value a
// later decode step turns into "//evil.com" is also rejected.
func ValidateReturnTo(value string) (string, error) {
	if len(value) > maxReturnToLength {
		return "", fmt.Errorf("%w: longer than %d bytes", ErrInvalidReturnTo, maxReturnToLength)
	}
	candidate := value
	for depth := range 3 {
		if err := checkRelativePath(candidate, depth == 0); err != nil {
			return "", err
		}
		decoded, err := url.PathUnescape(candidate)
		if err != nil {
			return "", fmt.Errorf("%w: malformed percent-encoding", ErrInvalidReturnTo)
		}
		if decoded == candidate {
			return value, nil
		}
		candidate = decoded
	}
	return "", fmt.Errorf("%w: encoded more than three times", ErrInvalidReturnTo)
}

// checkRelativePath checks one form of a return_to value. A raw value may
// not contain a space, but a decoded one may, because "%20" stays encoded in
// the Location header.
func checkRelativePath(value string, raw bool) error {
	if !strings.HasPrefix(value, "/") {
		return fmt.Errorf("%w: want a path starting with \"/\"", ErrInvalidReturnTo)
	}
	if len(value) > 1 && (value[1] == '/' || value[1] == '\\') {
		return fmt.Errorf("%w: a path starting with \"//\" or \"/\\\" names another host", ErrInvalidReturnTo)
	}
	for _, r := range value {
		if r == '\\' || r < ' ' || r == 0x7f || (raw && r == ' ') {
			return fmt.Errorf("%w: backslash, whitespace or control character", ErrInvalidReturnTo)
		}
	}
	u, err := url.Parse(value)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidReturnTo, err)
	}
	if u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return fmt.Errorf("%w: want a relative path without scheme or host", ErrInvalidReturnTo)
	}
	return nil
}
