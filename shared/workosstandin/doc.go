// Package workosstandin is a local stand-in for the WorkOS API. It follows
// the WorkOS REST paths and JSON shapes that workos-go v4.46.1 sends and
// parses, so the platform runs the same code path as in production and only
// the API base URL differs.
//
// It serves the JWKS of one client ID and the create, get and list calls of
// the Organizations API. It also serves those calls for User Management users
// and organization memberships, plus the membership role update. Development
// endpoints under /_standin/ rotate signing keys and mint AuthKit-style access
// tokens. State (signing keys,
// organizations, users, memberships) can persist in a JSON file so tokens stay
// valid across restarts.
//
// The package keeps one file per WorkOS concept: organizations.go, users.go,
// memberships.go, signing_keys.go, access_tokens.go. The AuthKit
// authorize/authenticate and refresh flows, sessions, the Events API and
// signed webhooks belong in files of their own next to these, sharing the
// store in store.go and the error and list helpers in api.go.
//
// The stand-in is for development and tests only: it accepts loopback
// clients only and keeps private keys unencrypted in its state file.
package workosstandin
