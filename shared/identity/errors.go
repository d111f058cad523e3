package identity

import "errors"

// Errors of Validate, for callers to branch on with errors.Is. Every error
// Validate returns matches exactly one of ErrInvalidToken, ErrExpiredToken and
// ErrJWKSUnavailable.
var (
	// ErrMissingToken means the request has no bearer access token.
	ErrMissingToken = errors.New("access token missing")
	// ErrInvalidToken means the token is malformed, not signed by a key in
	// the JWKS, or fails a claim check. HTTP status 401.
	ErrInvalidToken = errors.New("access token invalid")
	// ErrExpiredToken means the token is otherwise valid but past its exp
	// plus the leeway; the client should refresh it. HTTP status 401.
	ErrExpiredToken = errors.New("access token expired")
	// ErrJWKSUnavailable means the token could not be checked because the
	// JWKS could not be fetched. The token may be valid. HTTP status 503.
	ErrJWKSUnavailable = errors.New("JWKS unavailable")
)
