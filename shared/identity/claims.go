package identity

import (
	"context"
	"time"
)

// Claims is the identity a validated access token carries.
type Claims struct {
	// UserID is the AuthKit user ID (sub claim), always prefixed "user_".
	UserID string
	// OrganizationID is the organization the session is signed in to
	// (org_id claim). Empty for a session without an organization.
	OrganizationID string
	// Role is the user's role slug in the organization (role claim).
	Role string
	// Roles lists every role slug of the user in the organization (roles claim).
	Roles []string
	// Permissions lists the permission slugs the roles grant (permissions claim).
	Permissions []string
	// SessionID is the AuthKit session ID (sid claim), used to sign out.
	SessionID string
	// ExpiresAt is the token's expiry (exp claim).
	ExpiresAt time.Time
}

type claimsContextKey struct{}

// ContextWithClaims returns a copy of ctx that carries claims.
func ContextWithClaims(ctx context.Context, claims *Claims) context.Context {
	return context.WithValue(ctx, claimsContextKey{}, claims)
}

// ClaimsFromContext returns the claims Authenticate stored in the request
// context, and false when there are none.
func ClaimsFromContext(ctx context.Context) (*Claims, bool) {
	claims, ok := ctx.Value(claimsContextKey{}).(*Claims)
	return claims, ok && claims != nil
}
