package session_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/bondingai/platform/shared/session"
)

func TestCodeChallengeS256MatchesRFC7636Example(t *testing.T) {
	// RFC 7636 appendix B.
	got := session.CodeChallengeS256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
	if want := "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"; got != want {
		t.Errorf("challenge = %q, want %q", got, want)
	}
}

func TestNewCodeVerifierShapeAndUniqueness(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		v := session.NewCodeVerifier()
		if len(v) < 43 || len(v) > 128 {
			t.Fatalf("verifier length %d outside RFC 7636's 43..128", len(v))
		}
		if strings.Trim(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~") != "" {
			t.Fatalf("verifier %q has characters outside the unreserved set", v)
		}
		if seen[v] {
			t.Fatalf("verifier %q repeated", v)
		}
		seen[v] = true
	}
}

func TestNewStateIsRandom(t *testing.T) {
	a, b := session.NewState(), session.NewState()
	if a == b {
		t.Fatal("two states are equal")
	}
	raw, err := base64.RawURLEncoding.DecodeString(a)
	if err != nil || len(raw) != 32 {
		t.Errorf("state decodes to %d bytes (%v), want 32", len(raw), err)
	}
}

func TestValidateReturnToAcceptsRelativePaths(t *testing.T) {
	for _, value := range []string{"/", "/app", "/app/chat?id=1#top", "/documents/%20report", "/a/b/../c"} {
		got, err := session.ValidateReturnTo(value)
		if err != nil {
			t.Errorf("ValidateReturnTo(%q) = %v, want accepted", value, err)
			continue
		}
		if got != value {
			t.Errorf("ValidateReturnTo(%q) returned %q, want it unchanged", value, got)
		}
	}
}

func TestValidateReturnToRejectsHostileValues(t *testing.T) {
	hostile := []string{
		"",
		"//evil.com",
		"///evil.com",
		"/\\evil.com",
		"\\\\evil.com",
		"https://evil.com",
		"http:evil.com",
		"javascript:alert(1)",
		"JavaScript:alert(1)",
		"data:text/html,hi",
		"evil.com",
		"app",
		"/%2F%2Fevil.com",
		"/%2fevil.com",
		"%2F%2Fevil.com",
		"/%5Cevil.com",
		"/%5cevil.com",
		"/%252F%252Fevil.com",
		"/\t/evil.com",
		"/\n/evil.com",
		"/%09/evil.com",
		"/%0d%0aSet-Cookie:x=1",
		"/ /evil.com",
		"/app\\..\\evil",
		"/%zz",
		"/" + strings.Repeat("a", 2000),
	}
	for _, value := range hostile {
		if got, err := session.ValidateReturnTo(value); err == nil {
			t.Errorf("ValidateReturnTo(%q) accepted %q", value, got)
		} else if !errors.Is(err, session.ErrInvalidReturnTo) {
			t.Errorf("ValidateReturnTo(%q) error %v does not match ErrInvalidReturnTo", value, err)
		}
	}
}

type sealedPayload struct {
	AccessToken string `json:"access_token"`
	Count       int    `json:"count"`
}

func newSealer(t *testing.T, current, previous []byte) *session.Sealer {
	t.Helper()
	s, err := session.NewSealer(current, previous)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func key(b byte) []byte { return bytes.Repeat([]byte{b}, session.KeySize) }

func TestSealerRoundTrip(t *testing.T) {
	s := newSealer(t, key(1), nil)
	sealed, err := s.Seal("bondingai_session", sealedPayload{AccessToken: "secret-token", Count: 3})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "secret-token") {
		t.Fatal("sealed value contains the plaintext")
	}
	var got sealedPayload
	if err := s.Open("bondingai_session", sealed, &got); err != nil {
		t.Fatal(err)
	}
	if got.AccessToken != "secret-token" || got.Count != 3 {
		t.Errorf("opened %+v", got)
	}

	again, _ := s.Seal("bondingai_session", sealedPayload{AccessToken: "secret-token", Count: 3})
	if again == sealed {
		t.Error("two seals of one value are equal, so the nonce repeats")
	}
}

func TestSealerRejectsTamperedValue(t *testing.T) {
	s := newSealer(t, key(1), nil)
	sealed, _ := s.Seal("bondingai_session", sealedPayload{AccessToken: "token"})
	raw, _ := base64.RawURLEncoding.DecodeString(sealed)
	for i := range raw {
		tampered := bytes.Clone(raw)
		tampered[i] ^= 0x01
		var got sealedPayload
		err := s.Open("bondingai_session", base64.RawURLEncoding.EncodeToString(tampered), &got)
		if !errors.Is(err, session.ErrInvalidSeal) {
			t.Fatalf("byte %d flipped: error %v, want ErrInvalidSeal", i, err)
		}
	}
	for _, malformed := range []string{"", "!!!", "AQ", sealed[:20], sealed + "A"} {
		var got sealedPayload
		if err := s.Open("bondingai_session", malformed, &got); !errors.Is(err, session.ErrInvalidSeal) {
			t.Errorf("Open(%q) error %v, want ErrInvalidSeal", malformed, err)
		}
	}
}

func TestSealerRejectsOtherPurposeAndForeignKey(t *testing.T) {
	s := newSealer(t, key(1), nil)
	sealed, _ := s.Seal("bondingai_login", sealedPayload{AccessToken: "token"})
	var got sealedPayload
	if err := s.Open("bondingai_session", sealed, &got); !errors.Is(err, session.ErrInvalidSeal) {
		t.Errorf("login value opened as session: %v", err)
	}
	foreign := newSealer(t, key(2), nil)
	if err := foreign.Open("bondingai_login", sealed, &got); !errors.Is(err, session.ErrInvalidSeal) {
		t.Errorf("value opened with a foreign key: %v", err)
	}
}

func TestSealerKeyRotation(t *testing.T) {
	old := newSealer(t, key(1), nil)
	sealedWithOld, _ := old.Seal("bondingai_session", sealedPayload{AccessToken: "old"})

	rotated := newSealer(t, key(2), key(1))
	var got sealedPayload
	if err := rotated.Open("bondingai_session", sealedWithOld, &got); err != nil || got.AccessToken != "old" {
		t.Fatalf("rotated sealer opens old value: %+v, %v", got, err)
	}
	sealedWithNew, _ := rotated.Seal("bondingai_session", sealedPayload{AccessToken: "new"})
	if err := old.Open("bondingai_session", sealedWithNew, &got); !errors.Is(err, session.ErrInvalidSeal) {
		t.Errorf("old sealer opened a value sealed with the new key: %v", err)
	}
	newOnly := newSealer(t, key(2), nil)
	if err := newOnly.Open("bondingai_session", sealedWithOld, &got); !errors.Is(err, session.ErrInvalidSeal) {
		t.Errorf("sealer without the previous key opened an old value: %v", err)
	}
}

func TestNewSealerRejectsShortKey(t *testing.T) {
	if _, err := session.NewSealer(make([]byte, 16), nil); err == nil {
		t.Error("16-byte current key accepted")
	}
	if _, err := session.NewSealer(key(1), make([]byte, 31)); err == nil {
		t.Error("31-byte previous key accepted")
	}
}
