// Package session signs people in with WorkOS AuthKit and keeps them signed
// in: the authorization-code flow with PKCE and state, a sealed session
// cookie holding the access and refresh tokens, refresh before the access
// token expires, organization switching and logout.
//
// The session cookie and the "Authorization: Bearer" header share one
// identity.Validator and one authorization path: Manager.Authenticate puts
// the same identity.Claims into the request context for both.
//
// Refresh tokens are single-use and rotate, so concurrent requests that carry
// the same cookie must not each spend it. The refresh is claimed in
// PostgreSQL under a transaction-scoped advisory lock keyed by the token's
// SHA-256; the first request calls WorkOS and stores the sealed result for a
// short grace period, and the others, on any function instance, reuse it.
package session
