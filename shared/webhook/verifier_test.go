package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

const testSecret = "whsec_test_secret"

// testNow is the receiver's clock in every test: 2026-01-01T00:00:00Z.
var testNow = time.UnixMilli(1767225600000)

var testBody = []byte(`{"id":"event_01","event":"dsync.user.updated","data":{"id":"directory_user_01","state":"inactive"}}`)

func newTestVerifier(secrets ...string) *Verifier {
	if len(secrets) == 0 {
		secrets = []string{testSecret}
	}
	return &Verifier{Secrets: secrets, Now: func() time.Time { return testNow }}
}

func signatureHex(secret string, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp + "."))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

func TestSignFormat(t *testing.T) {
	header := Sign(testSecret, testNow, testBody)
	want := "t=1767225600000, v1=" + signatureHex(testSecret, "1767225600000", testBody)
	if header != want {
		t.Fatalf("Sign = %q, want %q", header, want)
	}
}

func TestVerifyAccepts(t *testing.T) {
	ms := strconv.FormatInt(testNow.UnixMilli(), 10)
	good := signatureHex(testSecret, ms, testBody)
	other := signatureHex("whsec_other", ms, testBody)
	cases := map[string]struct {
		header  string
		secrets []string
	}{
		"workos format":              {header: "t=" + ms + ", v1=" + good},
		"no space after comma":       {header: "t=" + ms + ",v1=" + good},
		"v1 before t":                {header: "v1=" + good + ", t=" + ms},
		"second of two v1 values":    {header: "t=" + ms + ", v1=" + other + ", v1=" + good},
		"unknown scheme ignored":     {header: "t=" + ms + ", v0=abc, v1=" + good},
		"old secret during rotation": {header: "t=" + ms + ", v1=" + other, secrets: []string{testSecret, "whsec_other"}},
		"uppercase hex":              {header: "t=" + ms + ", v1=" + strings.ToUpper(good)},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if err := newTestVerifier(c.secrets...).Verify(c.header, testBody); err != nil {
				t.Fatalf("Verify(%q) = %v, want nil", c.header, err)
			}
		})
	}
}

func TestVerifyTolerance(t *testing.T) {
	cases := map[string]struct {
		offset time.Duration
		want   error
	}{
		"2 minutes old":          {offset: -2 * time.Minute},
		"2 minutes in future":    {offset: 2 * time.Minute},
		"exactly at the limit":   {offset: -ToleranceDefault},
		"stale by 1 ms":          {offset: -ToleranceDefault - time.Millisecond, want: ErrOutsideTolerance},
		"replayed a day later":   {offset: -24 * time.Hour, want: ErrOutsideTolerance},
		"an hour in the future":  {offset: time.Hour, want: ErrOutsideTolerance},
		"future by limit + 1 ms": {offset: ToleranceDefault + time.Millisecond, want: ErrOutsideTolerance},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			header := Sign(testSecret, testNow.Add(c.offset), testBody)
			err := newTestVerifier().Verify(header, testBody)
			if !errors.Is(err, c.want) || (c.want == nil && err != nil) {
				t.Fatalf("Verify signed at now%+v = %v, want %v", c.offset, err, c.want)
			}
		})
	}
}

func TestVerifyCustomTolerance(t *testing.T) {
	v := newTestVerifier()
	v.Tolerance = 10 * time.Second
	header := Sign(testSecret, testNow.Add(-11*time.Second), testBody)
	if err := v.Verify(header, testBody); !errors.Is(err, ErrOutsideTolerance) {
		t.Fatalf("Verify 11 s old with 10 s tolerance = %v, want ErrOutsideTolerance", err)
	}
}

func TestVerifyRejects(t *testing.T) {
	ms := strconv.FormatInt(testNow.UnixMilli(), 10)
	good := signatureHex(testSecret, ms, testBody)
	seconds := strconv.FormatInt(testNow.Unix(), 10)
	cases := map[string]struct {
		header string
		body   []byte
		want   error
	}{
		"empty header":             {header: "", want: ErrInvalidHeader},
		"no equals signs":          {header: "a,b", want: ErrInvalidHeader},
		"only a timestamp":         {header: "t=" + ms, want: ErrInvalidHeader},
		"only a signature":         {header: "v1=" + good, want: ErrInvalidHeader},
		"non-numeric timestamp":    {header: "t=abc, v1=" + good, want: ErrInvalidHeader},
		"negative timestamp":       {header: "t=-1, v1=" + good, want: ErrInvalidHeader},
		"huge timestamp":           {header: "t=99999999999999999999999, v1=" + good, want: ErrInvalidHeader},
		"two timestamps":           {header: "t=" + ms + ", t=" + ms + ", v1=" + good, want: ErrInvalidHeader},
		"signature not hex":        {header: "t=" + ms + ", v1=zz" + good[2:], want: ErrInvalidHeader},
		"signature too short":      {header: "t=" + ms + ", v1=" + good[:62], want: ErrInvalidHeader},
		"too many signatures":      {header: "t=" + ms + strings.Repeat(", v1="+good, maxSignatures+1), want: ErrInvalidHeader},
		"header too long":          {header: "t=" + ms + ", v1=" + good + ", x=" + strings.Repeat("a", maxHeaderBytes), want: ErrInvalidHeader},
		"second-precision time":    {header: "t=" + seconds + ", v1=" + signatureHex(testSecret, seconds, testBody), want: ErrOutsideTolerance},
		"wrong secret":             {header: Sign("whsec_wrong", testNow, testBody), want: ErrNoValidSignature},
		"tampered body":            {header: "t=" + ms + ", v1=" + good, body: []byte(strings.Replace(string(testBody), "inactive", "active", 1)), want: ErrNoValidSignature},
		"timestamp changed":        {header: "t=" + strconv.FormatInt(testNow.UnixMilli()+1, 10) + ", v1=" + good, want: ErrNoValidSignature},
		"re-marshalled body":       {header: "t=" + ms + ", v1=" + good, body: []byte(strings.ReplaceAll(string(testBody), ":", ": ")), want: ErrNoValidSignature},
		"empty body signed for ok": {header: "t=" + ms + ", v1=" + good, body: []byte{}, want: ErrNoValidSignature},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			body := testBody
			if c.body != nil {
				body = c.body
			}
			if err := newTestVerifier().Verify(c.header, body); !errors.Is(err, c.want) {
				t.Fatalf("Verify(%q) = %v, want %v", c.header, err, c.want)
			}
		})
	}
}

func TestVerifyEmptySecretNeverMatches(t *testing.T) {
	header := Sign("", testNow, testBody)
	if err := newTestVerifier("").Verify(header, testBody); !errors.Is(err, ErrNoValidSignature) {
		t.Fatalf("Verify with an empty secret = %v, want ErrNoValidSignature", err)
	}
}

// FuzzVerifySignature checks that no header or body makes Verify panic,
// and that Verify accepts a header only when one of its v1 values is the
// correct signature. The seed corpus in testdata/fuzz covers malformed,
// stale, future, replayed and multi-signature headers.
func FuzzVerifySignature(f *testing.F) {
	f.Add(Sign(testSecret, testNow, testBody), testBody)
	f.Add("t=1767225600000,v1=", []byte("{}"))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		err := newTestVerifier().Verify(header, body)
		if err != nil {
			if !errors.Is(err, ErrInvalidHeader) && !errors.Is(err, ErrOutsideTolerance) && !errors.Is(err, ErrNoValidSignature) {
				t.Fatalf("Verify returned an unexpected error: %v", err)
			}
			return
		}
		timestamp, raw, signatures, parseErr := parseHeader(header)
		if parseErr != nil {
			t.Fatalf("Verify accepted %q, which does not parse: %v", header, parseErr)
		}
		if skew := testNow.UnixMilli() - timestamp; skew > ToleranceDefault.Milliseconds() || -skew > ToleranceDefault.Milliseconds() {
			t.Fatalf("Verify accepted %q, signed %d ms away from now", header, skew)
		}
		expected := signatureHex(testSecret, raw, body)
		for _, s := range signatures {
			if hex.EncodeToString(s) == expected {
				return
			}
		}
		t.Fatalf("Verify accepted %q without a correct signature", header)
	})
}
