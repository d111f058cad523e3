package session

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/workos/workos-go/v4/pkg/usermanagement"
	"github.com/workos/workos-go/v4/pkg/workos_errors"

	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/identity"
)

const (
	// refreshMargin is how long before the access token expires the
	// session refreshes it, so that it does not expire while a request is
	// handled. WorkOS's own AuthKit clients use the same margins.
	refreshMargin = 60 * time.Second
	// shortTokenRefreshMargin replaces refreshMargin for access tokens
	// that live shortTokenLifetime or less (the WorkOS default is 5
	// minutes), so that they are not refreshed for a fifth of their life.
	shortTokenRefreshMargin = 30 * time.Second
	shortTokenLifetime      = 5 * time.Minute
	// refreshGrace is how long the result of a refresh is reused by
	// requests that still carry the spent refresh token, such as parallel
	// requests a page sent before its first response set the new cookie.
	refreshGrace = 30 * time.Second
	// retryAfterSeconds is the Retry-After of a 503 caused by WorkOS or
	// its signing keys being unavailable.
	retryAfterSeconds = "10"
	// refreshResultPurpose names the sealed refresh results stored in
	// PostgreSQL.
	refreshResultPurpose = "session_refresh"
)

// ErrSessionEnded means WorkOS rejected the refresh token with
// invalid_grant: it expired, was revoked, or was spent outside the grace
// window. The session cannot continue.
var ErrSessionEnded = errors.New("session ended")

// refreshResult is the outcome of one refresh, stored sealed with the
// cookie key for the requests that lose the race.
type refreshResult struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	// OrganizationID is the organization the refresh asked for; empty for
	// a refresh that keeps the session's organization.
	OrganizationID string `json:"organization_id"`
}

// needsRefresh reports whether the access token of s expires within the
// refresh margin at now.
func needsRefresh(s sessionState, now time.Time) bool {
	margin := refreshMargin
	if s.Lifetime > 0 && s.Lifetime <= shortTokenLifetime {
		margin = shortTokenRefreshMargin
	}
	return !now.Add(margin).Before(s.ExpiresAt)
}

// refresh exchanges the session's refresh token, into organizationID when
// it is not empty, and returns the new session with its validated claims.
// Concurrent calls with the same refresh token, in any process, share one
// WorkOS call through Store.ClaimRefresh. An error matches ErrSessionEnded
// for invalid_grant; other errors are transient or, for an organization
// switch, a workos_errors.HTTPError from WorkOS.
func (m *Manager) refresh(ctx context.Context, r *http.Request, current sessionState, organizationID string) (*identity.Claims, sessionState, error) {
	result, err := m.claimRefresh(ctx, r, current.RefreshToken, organizationID)
	if err != nil {
		return nil, sessionState{}, err
	}
	// A concurrent plain refresh may have won the race against an
	// organization switch: switch again with the token it stored.
	if organizationID != "" && result.OrganizationID != organizationID {
		if result, err = m.claimRefresh(ctx, r, result.RefreshToken, organizationID); err != nil {
			return nil, sessionState{}, err
		}
	}

	claims, next, status := m.validateNewTokens(ctx, result.AccessToken, result.RefreshToken)
	if status != 0 {
		return nil, sessionState{}, fmt.Errorf("refreshed access token of session %s failed validation (status %d)", current.SessionID, status)
	}
	return claims, next, nil
}

func (m *Manager) claimRefresh(ctx context.Context, r *http.Request, refreshToken, organizationID string) (refreshResult, error) {
	tokenHash := sha256.Sum256([]byte(refreshToken))
	sealed, reused, err := m.cfg.Store.ClaimRefresh(ctx, tokenHash[:], refreshGrace, func(ctx context.Context) ([]byte, error) {
		response, err := m.cfg.Users.AuthenticateWithRefreshToken(ctx, usermanagement.AuthenticateWithRefreshTokenOpts{
			ClientID:       m.cfg.ClientID,
			RefreshToken:   refreshToken,
			OrganizationID: organizationID,
			IPAddress:      clientIP(r),
			UserAgent:      r.UserAgent(),
		})
		if err != nil {
			if isInvalidGrant(err) {
				return nil, fmt.Errorf("%w: %w", ErrSessionEnded, err)
			}
			return nil, fmt.Errorf("refresh access token: %w", err)
		}
		value, err := m.cfg.Sealer.Seal(refreshResultPurpose, refreshResult{
			AccessToken: response.AccessToken, RefreshToken: response.RefreshToken, OrganizationID: organizationID,
		})
		return []byte(value), err
	})
	if err != nil {
		return refreshResult{}, err
	}
	var result refreshResult
	if err := m.cfg.Sealer.Open(refreshResultPurpose, string(sealed), &result); err != nil {
		return refreshResult{}, fmt.Errorf("open stored refresh result: %w", err)
	}
	customhandler.Logger(ctx).Debug("session refreshed", slog.Bool("reused", reused))
	return result, nil
}

// isInvalidGrant reports whether WorkOS rejected a refresh token for good.
// Only this error ends a session; rate limits, 5xx and network errors do
// not.
func isInvalidGrant(err error) bool {
	var httpErr workos_errors.HTTPError
	return errors.As(err, &httpErr) && httpErr.ErrorCode == "invalid_grant"
}

// validateNewTokens checks an access token WorkOS just issued and builds
// the session state for it. status is 0 on success, 503 when the signing
// keys are unavailable and 502 when the token is invalid.
func (m *Manager) validateNewTokens(ctx context.Context, accessToken, refreshToken string) (*identity.Claims, sessionState, int) {
	claims, err := m.cfg.Validator.Validate(ctx, accessToken)
	if err != nil {
		customhandler.Logger(ctx).Error("access token from WorkOS failed validation", slog.Any("error", err))
		if errors.Is(err, identity.ErrJWKSUnavailable) {
			return nil, sessionState{}, http.StatusServiceUnavailable
		}
		return nil, sessionState{}, http.StatusBadGateway
	}
	state := sessionState{
		AccessToken:  accessToken,
		RefreshToken: refreshToken,
		SessionID:    claims.SessionID,
		ExpiresAt:    claims.ExpiresAt,
	}
	// The validator checked the signature; only iat is read here.
	var registered jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(accessToken, &registered); err == nil && registered.IssuedAt != nil {
		state.Lifetime = claims.ExpiresAt.Sub(registered.IssuedAt.Time)
	}
	return claims, state, 0
}

// setSessionCookie seals s into the session cookie.
func (m *Manager) setSessionCookie(w http.ResponseWriter, s sessionState) error {
	sealed, err := m.cfg.Sealer.Seal(SessionCookieName, s)
	if err != nil {
		return err
	}
	cookie := newCookie(SessionCookieName, sealed, "/", SessionCookieMaxAge)
	if size := len(cookie.Name) + 1 + len(cookie.Value); size > maxCookieBytes {
		return fmt.Errorf("session cookie of session %s has %d bytes, more than the %d browsers keep", s.SessionID, size, maxCookieBytes)
	}
	http.SetCookie(w, cookie)
	return nil
}
