package session

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// randomTokenBytes is the entropy of a state value and a PKCE code verifier:
// 32 bytes encode to 43 base64url characters, the minimum verifier length of
// RFC 7636 section 4.1.
const randomTokenBytes = 32

// CodeChallengeMethodS256 is the PKCE method the login flow uses.
const CodeChallengeMethodS256 = "S256"

// NewCodeVerifier returns a PKCE code verifier (RFC 7636 section 4.1): 43
// unreserved characters from a cryptographic random source.
func NewCodeVerifier() string {
	return randomToken()
}

// CodeChallengeS256 returns the S256 code challenge of verifier
// (RFC 7636 section 4.2): BASE64URL-ENCODE(SHA256(ASCII(verifier))).
func CodeChallengeS256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// NewState returns an unguessable OAuth state value that ties a callback to
// the browser that started the login.
func NewState() string {
	return randomToken()
}

func randomToken() string {
	// crypto/rand.Read never returns an error since Go 1.24; it crashes the
	// program instead when the system source fails.
	b := make([]byte, randomTokenBytes)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
