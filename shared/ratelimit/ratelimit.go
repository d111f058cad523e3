// Package ratelimit limits how often each user and each organization may
// chat, search and upload. The counters are fixed-window counters in
// PostgreSQL, upserted atomically, so a limit holds across every instance
// of the function app instead of per process.
package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/httpapi"
	"github.com/bondingai/platform/shared/problem"
	"github.com/bondingai/platform/shared/store"
)

// Action is a rate-limited operation; it prefixes the counter buckets.
type Action string

// The rate-limited actions.
const (
	ActionChat   Action = "chat"
	ActionSearch Action = "search"
	ActionUpload Action = "upload"
)

// Limit allows Requests requests in each fixed Window.
type Limit struct {
	// Requests is the number of requests allowed per window.
	Requests int
	// Window is the length of one counting window.
	Window time.Duration
}

// Policy is an action's limits for one user and for a whole organization.
type Policy struct {
	PerUser         Limit
	PerOrganization Limit
}

// Scopes a limit applies to, as Decision.Scope reports them.
const (
	ScopeUser         = "user"
	ScopeOrganization = "organization"
)

// Decision is the outcome of one Allow call.
type Decision struct {
	// Allowed is false when a limit was exceeded.
	Allowed bool
	// Scope is ScopeUser or ScopeOrganization for a rejected request.
	Scope string
	// Limit is the exceeded limit of a rejected request.
	Limit Limit
	// RetryAfter is the time until the exceeded window ends.
	RetryAfter time.Duration
}

// Limiter counts requests in PostgreSQL. An action without a policy is
// not limited.
type Limiter struct {
	Store    *store.Store
	Policies map[Action]Policy
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Allow counts one request of userID in orgID for action and reports
// whether it is within both the user's and the organization's limit.
// Every request counts, rejected ones included, so a client that keeps
// retrying stays limited until the window ends.
func (l *Limiter) Allow(ctx context.Context, action Action, orgID, userID uuid.UUID) (Decision, error) {
	policy, ok := l.Policies[action]
	if !ok {
		return Decision{Allowed: true}, nil
	}
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	at := now()

	checks := []struct {
		scope  string
		bucket string
		limit  Limit
	}{
		{ScopeUser, string(action) + ":user:" + userID.String(), policy.PerUser},
		{ScopeOrganization, string(action) + ":org", policy.PerOrganization},
	}
	decision := Decision{Allowed: true}
	err := l.Store.InOrg(ctx, orgID, func(tx pgx.Tx) error {
		for _, check := range checks {
			if check.limit.Requests <= 0 || check.limit.Window <= 0 {
				continue
			}
			windowStart := at.Truncate(check.limit.Window)
			count, err := store.IncrementRateLimit(ctx, tx, check.bucket, windowStart)
			if err != nil {
				return err
			}
			if count > check.limit.Requests && decision.Allowed {
				decision = Decision{Scope: check.scope, Limit: check.limit, RetryAfter: windowStart.Add(check.limit.Window).Sub(at)}
			}
		}
		return nil
	})
	if err != nil {
		return Decision{}, fmt.Errorf("check %s rate limit of organization %s: %w", action, orgID, err)
	}
	return decision, nil
}

// Middleware rejects a request over the caller's or the organization's
// limit for action with 429 Too Many Requests, a Retry-After header in
// whole seconds and a problem+json body. It must run inside the
// authentication middleware, which puts the caller's Principal in the
// context.
func (l *Limiter) Middleware(action Action) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			caller, ok := httpapi.PrincipalFromContext(r.Context())
			if !ok {
				httpapi.InternalError(w, r, "check rate limit", fmt.Errorf("no principal in the request context for the %s rate limit", action))
				return
			}

			decision, err := l.Allow(r.Context(), action, caller.OrgID, caller.UserID)
			if err != nil {
				httpapi.InternalError(w, r, "check rate limit", err)
				return
			}
			if !decision.Allowed {
				seconds := int(math.Ceil(decision.RetryAfter.Seconds()))
				seconds = max(seconds, 1)
				customhandler.Logger(r.Context()).Info("request rate limited",
					slog.String("action", string(action)), slog.String("scope", decision.Scope), slog.Int("retry_after_seconds", seconds))
				w.Header().Set("Retry-After", strconv.Itoa(seconds))
				problem.Write(w, r, http.StatusTooManyRequests, fmt.Sprintf(
					"Too many %s requests: the %s limit is %d per %s. Retry after %d seconds.",
					action, decision.Scope, decision.Limit.Requests, decision.Limit.Window, seconds))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
