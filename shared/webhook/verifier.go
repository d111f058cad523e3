// Package webhook verifies the WorkOS-Signature header of WorkOS webhook
// deliveries. workos-go v4.46.1 has a verifier (pkg/webhooks), but it panics
// on some malformed headers, accepts timestamps far in the future, compares
// signatures with ==, and rejects headers with more than one v1 value, so
// the platform uses this one.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the header WorkOS signs each delivery in.
const SignatureHeader = "WorkOS-Signature"

// ToleranceDefault is the largest accepted difference between the signed
// timestamp and the receiver's clock, in either direction. WorkOS's SDKs use
// 180 seconds.
const ToleranceDefault = 3 * time.Minute

// Limits on the header that keep parsing cheap for hostile input. A real
// header is about 90 bytes with one v1 value; rotation adds one more.
const (
	maxHeaderBytes = 4096
	maxSignatures  = 8
	// maxTimestampDigits allows millisecond timestamps until the year 2286.
	maxTimestampDigits = 13
)

// Errors Verify returns; the webhook function responds 401 to each of them.
var (
	// ErrInvalidHeader means the header is missing, too long or not of the
	// form "t=<unix ms>, v1=<hex>[, v1=<hex>...]".
	ErrInvalidHeader = errors.New("invalid WorkOS-Signature header")
	// ErrOutsideTolerance means the signed timestamp is too old or too far
	// in the future, which rejects replayed and pre-signed deliveries.
	ErrOutsideTolerance = errors.New("webhook timestamp outside the tolerance window")
	// ErrNoValidSignature means no v1 value matches the body and secret.
	ErrNoValidSignature = errors.New("no valid webhook signature")
)

// Verifier checks WorkOS webhook signatures. The zero value is not usable:
// set at least one secret.
type Verifier struct {
	// Secrets are the endpoint's signing secrets. During a secret rotation
	// both the old and the new secret are listed.
	Secrets []string
	// Tolerance is the accepted clock difference; zero means ToleranceDefault.
	Tolerance time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Verify checks header, the WorkOS-Signature value, against the raw request
// body. It returns nil when the timestamp is within the tolerance window and
// at least one v1 value is the HMAC-SHA256 of "<t>.<body>" under one of the
// secrets, compared in constant time.
func (v *Verifier) Verify(header string, body []byte) error {
	timestamp, raw, signatures, err := parseHeader(header)
	if err != nil {
		return err
	}

	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	tolerance := v.Tolerance
	if tolerance <= 0 {
		tolerance = ToleranceDefault
	}
	skew := now().UnixMilli() - timestamp
	if skew > tolerance.Milliseconds() || skew < -tolerance.Milliseconds() {
		return fmt.Errorf("%w: signed at %s", ErrOutsideTolerance, time.UnixMilli(timestamp).UTC().Format(time.RFC3339))
	}

	for _, secret := range v.Secrets {
		if secret == "" {
			continue
		}
		expected := sign(secret, raw, body)
		for _, signature := range signatures {
			if hmac.Equal(expected, signature) {
				return nil
			}
		}
	}
	return ErrNoValidSignature
}

// Sign returns a WorkOS-Signature header for body signed at t, in the
// format WorkOS sends: "t=<unix ms>, v1=<lowercase hex>".
func Sign(secret string, t time.Time, body []byte) string {
	timestamp := strconv.FormatInt(t.UnixMilli(), 10)
	return "t=" + timestamp + ", v1=" + hex.EncodeToString(sign(secret, timestamp, body))
}

func sign(secret, timestamp string, body []byte) []byte {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return mac.Sum(nil)
}

// parseHeader splits header into its timestamp (as a number and as sent)
// and its decoded v1 signatures. Elements are separated by commas with
// optional spaces; unknown schemes such as v0 are ignored, as Stripe-style
// signature headers allow.
func parseHeader(header string) (timestamp int64, raw string, signatures [][]byte, err error) {
	if header == "" || len(header) > maxHeaderBytes {
		return 0, "", nil, ErrInvalidHeader
	}
	for _, element := range strings.Split(header, ",") {
		key, value, found := strings.Cut(strings.TrimSpace(element), "=")
		if !found {
			return 0, "", nil, ErrInvalidHeader
		}
		switch key {
		case "t":
			if raw != "" || !isTimestamp(value) {
				return 0, "", nil, ErrInvalidHeader
			}
			raw = value
		case "v1":
			if len(signatures) == maxSignatures {
				return 0, "", nil, ErrInvalidHeader
			}
			signature, decodeErr := hex.DecodeString(value)
			if decodeErr != nil || len(signature) != sha256.Size {
				return 0, "", nil, ErrInvalidHeader
			}
			signatures = append(signatures, signature)
		}
	}
	if raw == "" || len(signatures) == 0 {
		return 0, "", nil, ErrInvalidHeader
	}
	timestamp, err = strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return 0, "", nil, ErrInvalidHeader
	}
	return timestamp, raw, signatures, nil
}

// isTimestamp reports whether value is 1 to maxTimestampDigits ASCII digits.
// A second-precision timestamp passes this check but then falls 55 years
// outside any tolerance window.
func isTimestamp(value string) bool {
	if value == "" || len(value) > maxTimestampDigits {
		return false
	}
	for i := 0; i < len(value); i++ {
		if value[i] < '0' || value[i] > '9' {
			return false
		}
	}
	return true
}
