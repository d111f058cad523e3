// Package identity validates WorkOS AuthKit access tokens and puts the
// caller's identity into the request context.
//
// Validation is local: the only WorkOS call is the JWKS fetch, which is cached
// in-process and refreshed in the background, and again when a token names a
// key ID the cache does not have. See Validator for the checks.
package identity
