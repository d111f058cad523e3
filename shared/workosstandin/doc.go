// Package workosstandin is a local stand-in for the WorkOS API. It follows
// the WorkOS REST paths and JSON shapes that workos-go v4.46.1 sends and
// parses, so the platform runs the same code path as in production and only
// the API base URL differs.
//
// It serves:
//   - the AuthKit authorization-code flow with PKCE (S256). A hosted login
//     page at /user_management/authorize lets a person pick or type a user
//     and an organization. POST /user_management/authenticate serves the
//     authorization_code and refresh_token grants with single-use, rotating
//     refresh tokens and organization switching. Sessions can be revoked,
//     and the logout URL ends them;
//   - the JWKS of one client ID, with key rotation;
//   - Organizations, User Management users and organization memberships;
//   - Directory Sync directories, directory users and directory groups;
//   - the Events API, and signed webhooks with retries to loopback URLs;
//   - Admin Portal links and a portal page per link.
//
// Development endpoints under /_standin/ play the identity provider and the
// WorkOS dashboard: they mint access tokens, rotate keys, create
// directories, change directory users and groups, remove memberships and
// organizations, and register webhook endpoints. Every state change emits
// the event WorkOS emits for it.
//
// State (signing keys, organizations, users, memberships, sessions, hashes
// of refresh tokens, directories, events, registered webhook endpoints) can
// persist in a JSON file so tokens and sessions survive restarts.
// Authorization codes and portal links stay in memory.
//
// The package keeps one file per WorkOS concept: organizations.go,
// users.go, memberships.go, signing_keys.go, access_tokens.go, authkit.go
// (login page and codes), sessions.go (authenticate, refresh, revoke,
// logout), directory_sync.go, events.go, webhooks.go and portal.go. They
// share the store in store.go and the error and list helpers in api.go.
//
// The stand-in is for development and tests only: it accepts loopback
// clients only and keeps private keys unencrypted in its state file.
package workosstandin
