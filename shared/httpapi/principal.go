// Package httpapi holds what every HTTP function shares: resolving the
// caller's organization and user from the validated access token, and
// reading and writing JSON.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"sync"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/identity"
	"github.com/bondingai/platform/shared/problem"
	"github.com/bondingai/platform/shared/store"
)

// Principal is the authenticated caller, with the platform's own ids for
// the WorkOS organization and user in the token.
type Principal struct {
	OrgID  uuid.UUID
	UserID uuid.UUID
	Claims *identity.Claims
}

type principalKey struct{}

// PrincipalFromContext returns the caller RequirePrincipal resolved.
func PrincipalFromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok
}

// ContextWithPrincipal returns ctx carrying p, for tests and middleware.
func ContextWithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// Resolver maps WorkOS ids to the platform's ids, creating the mirrored
// organization, user and membership rows on first sight and caching the
// mapping for the life of the process.
type Resolver struct {
	Store *store.Store

	mu    sync.Mutex
	known map[[2]string]Principal
	// sessions holds the session ids already recorded by this process.
	sessions map[string]struct{}
}

// Resolve returns the platform's ids for claims.
func (r *Resolver) Resolve(ctx context.Context, claims *identity.Claims) (*Principal, error) {
	key := [2]string{claims.OrganizationID, claims.UserID + "\x00" + claims.Role}
	r.mu.Lock()
	cached, ok := r.known[key]
	r.mu.Unlock()
	if ok {
		cached.Claims = claims
		return &cached, nil
	}

	orgID, err := r.Store.EnsureOrganization(ctx, claims.OrganizationID)
	if err != nil {
		return nil, err
	}
	userID, err := r.Store.EnsureUser(ctx, claims.UserID)
	if err != nil {
		return nil, err
	}
	err = r.Store.InOrg(ctx, orgID, func(tx pgx.Tx) error {
		return store.EnsureMembership(ctx, tx, orgID, userID, claims.Role)
	})
	if err != nil {
		return nil, err
	}

	p := Principal{OrgID: orgID, UserID: userID}
	r.mu.Lock()
	if r.known == nil {
		r.known = map[[2]string]Principal{}
	}
	r.known[key] = p
	r.mu.Unlock()
	p.Claims = claims
	return &p, nil
}

// RequirePrincipal returns middleware that runs after identity.Authenticate:
// it resolves the caller, adds org_id and user_id to the request's logger
// and stores the Principal in the context.
func (r *Resolver) RequirePrincipal(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		claims, ok := identity.ClaimsFromContext(req.Context())
		if !ok {
			problem.Write(w, req, http.StatusUnauthorized, "The request is not authenticated.")
			return
		}
		p, err := r.Resolve(req.Context(), claims)
		if err != nil {
			customhandler.Logger(req.Context()).Error("resolve caller", slog.Any("error", err))
			problem.Write(w, req, http.StatusServiceUnavailable, "The service cannot reach its database. Retry shortly.")
			return
		}
		ctx := customhandler.WithLogAttrs(req.Context(), slog.String("org_id", p.OrgID.String()), slog.String("user_id", p.UserID.String()))
		if err := r.recordSession(ctx, p); err != nil {
			customhandler.Logger(ctx).Error("record session", slog.Any("error", err))
			problem.Write(w, req, http.StatusServiceUnavailable, "The service cannot reach its database. Retry shortly.")
			return
		}

		// A deprovisioned user keeps a valid access token until it expires,
		// so every request checks the identity mirror the sync maintains.
		reason, err := r.Store.AccessDenial(ctx, p.OrgID, p.UserID)
		if err != nil {
			customhandler.Logger(ctx).Error("check access", slog.Any("error", err))
			problem.Write(w, req, http.StatusServiceUnavailable, "The service cannot reach its database. Retry shortly.")
			return
		}
		if reason != "" {
			customhandler.Logger(ctx).Warn("request from a deprovisioned user denied", slog.String("reason", reason))
			// The sync marked the sessions it had seen; this one may be
			// newer. The next sync run revokes it in WorkOS.
			if sessionID := p.Claims.SessionID; sessionID != "" {
				if err := r.Store.RequestSessionRevocationByID(ctx, sessionID); err != nil {
					customhandler.Logger(ctx).Error("request session revocation", slog.Any("error", err))
				}
			}
			problem.Write(w, req, http.StatusForbidden, "Your access to this organization has been removed. Contact your administrator.")
			return
		}
		next.ServeHTTP(w, req.WithContext(ContextWithPrincipal(ctx, p)))
	})
}

// recordSession stores the token's session id once per process, so that
// deprovisioning the user can revoke the session in WorkOS.
func (r *Resolver) recordSession(ctx context.Context, p *Principal) error {
	sessionID := p.Claims.SessionID
	if sessionID == "" {
		return nil
	}
	r.mu.Lock()
	_, seen := r.sessions[sessionID]
	r.mu.Unlock()
	if seen {
		return nil
	}
	if err := r.Store.RecordSession(ctx, sessionID, p.OrgID, p.UserID); err != nil {
		return err
	}
	r.mu.Lock()
	if r.sessions == nil {
		r.sessions = map[string]struct{}{}
	}
	r.sessions[sessionID] = struct{}{}
	r.mu.Unlock()
	return nil
}
